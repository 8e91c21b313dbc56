"""The guide's path for a new task type, on a copy of the source tree: scaffold it, fill in its example, and see
the registry pick it up everywhere: its schema in GET /task-types, validation at create, the consumer running it."""

import subprocess
import sys

import httpx

from devstack import ROOT
from tests.e2e.conftest import running_stack
from tests.source_tree import copy_source_tree
from tests.waiting import wait_until


def fill_in_example(path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"the scaffold's example changed: {old!r} is not in {path.name}"
    path.write_text(text.replace(old, new))


def test_a_scaffolded_task_type_is_validated_listed_and_run_end_to_end(postgres_server_url, sqs_endpoint, tmp_path):
    tree = tmp_path / "tree"
    copy_source_tree(tree)
    made = subprocess.run([sys.executable, "-m", "devstack.new_task_type", "shout"], cwd=tree, capture_output=True)
    assert made.returncode == 0, made.stderr
    module, test = tree / "taskflow/task_types/shout.py", tree / "tests/unit/test_task_type_shout.py"
    # What the guide asks a newcomer to do: make the example function theirs, and its test with it.
    fill_in_example(module, 'return {"characters": len(payload.text)}', 'return {"shout": payload.text.upper() + "!"}')
    fill_in_example(test, '== {"characters": 11}', '== {"shout": "HELLO WORLD!"}')
    unit = subprocess.run([sys.executable, "-m", "pytest", "-q", str(test)], cwd=tree, capture_output=True, text=True)
    assert unit.returncode == 0, unit.stdout

    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "stack.log", source=tree) as stack:
        types = httpx.get(f"{stack.base_url}/task-types", headers=stack.headers).json()
        shout = next(t for t in types if t["name"] == "shout")
        assert shout["payload_schema"]["required"] == ["text"]
        assert shout["description"].startswith("Count the characters")

        refused = httpx.post(f"{stack.base_url}/tasks", json={"type": "shout", "payload": {}}, headers=stack.headers)
        assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"

        created = httpx.post(
            f"{stack.base_url}/tasks", json={"type": "shout", "payload": {"text": "hi"}}, headers=stack.headers
        ).json()
        url = f"{stack.base_url}/tasks/{created['id']}"
        done = wait_until(lambda: httpx.get(url, headers=stack.headers).json()["status"] == "succeeded", 15, "shout")
        assert done and httpx.get(url, headers=stack.headers).json()["result"] == {"shout": "HI!"}
    assert not (ROOT / "taskflow/task_types/shout.py").exists(), "the scaffold wrote into the repository"
