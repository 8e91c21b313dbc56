"""The newcomer's path: `python -m devstack` (what `make dev` runs) with nothing given, then the README's curl."""

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import psutil
import pytest

from tests.ports import free_devstack_port, free_port
from tests.waiting import wait_until

ROOT = Path(__file__).resolve().parents[2]


def readme_first_steps(port: int, data_dir: str) -> str:
    """The README's first shell block after `make dev` (export the key, create a task, list), for this stack."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(r"```bash\n(export TASKFLOW_API_KEY=.*?)```", readme, re.S)
    assert block, "the README lost its first-steps block"
    return block.group(1).replace(".data/", f"{data_dir}/").replace(":8000", f":{port}")


def readme_block(starting_with: str, port: int, data_dir: str) -> str:
    """The README's shell block that starts with `starting_with`, pointed at this stack."""
    readme = (ROOT / "README.md").read_text()
    block = re.search(rf"```bash\n({re.escape(starting_with)}.*?)```", readme, re.S)
    assert block, f"the README lost its block starting with {starting_with!r}"
    return block.group(1).replace(".data/", f"{data_dir}/").replace(":8000", f":{port}")


def run_readme_block(block: str, key: str) -> list:
    ran = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", block],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "TASKFLOW_API_KEY": key},
    )
    return json_documents(ran.stdout)


def json_documents(text: str) -> list:
    """The JSON documents printed one after another (curl adds no newline after a body)."""
    decoder, documents, position = json.JSONDecoder(), [], 0
    while position < len(text.strip()):
        document, position = decoder.raw_decode(text, position)
        documents.append(document)
        while position < len(text) and text[position].isspace():
            position += 1
    return documents


def listening_addresses(pid: int) -> set[tuple[str, int]]:
    """Every TCP address the process and everything it started listen on (PostgreSQL: a Unix socket only)."""
    root = psutil.Process(pid)
    return {
        (c.laddr.ip, c.laddr.port)
        for p in [root, *root.children(recursive=True)]
        for c in p.net_connections(kind="inet")
        if c.status == psutil.CONN_LISTEN
    }


def start_devstack(env: dict, log_path: Path) -> subprocess.Popen:
    log = open(log_path, "a")  # noqa: SIM115 - kept open for the child's lifetime
    return subprocess.Popen(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for_banner(log_path: Path, process: subprocess.Popen, count: int) -> None:
    def up():
        assert process.poll() is None, log_path.read_text()
        return log_path.read_text().count("Taskflow is up.") >= count

    wait_until(up, 90, "the dev stack coming up")


def stop(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGINT)
    process.wait(30)


@pytest.fixture
def devstack_env(private_dir) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AWS_ENDPOINT_URL")}
    return {
        **env,
        "TASKFLOW_DATA_DIR": str(private_dir / "data"),
        "API_PORT": str(free_devstack_port()),
        "LOCALSTACK_PORT": str(free_port()),
    }


def test_make_dev_runs_the_whole_system_and_keeps_tasks_across_a_restart(devstack_env, tmp_path):
    port = int(devstack_env["API_PORT"])
    log_path = tmp_path / "devstack.log"
    process = start_devstack(devstack_env, log_path)
    try:
        wait_for_banner(log_path, process, 1)
        assert "starting embedded PostgreSQL" in log_path.read_text()
        listening = listening_addresses(process.pid)
        assert {address for address, _ in listening} <= {"127.0.0.1", "::1"}, f"beyond loopback: {listening}"
        expected = {port, port + 100, port + 101, port + 102, port + 103, int(devstack_env["LOCALSTACK_PORT"])}
        assert expected <= {p for _, p in listening}, "API, consumer and relay metrics, the email sink, LocalStack"
        steps = readme_first_steps(port, devstack_env["TASKFLOW_DATA_DIR"])
        ran = subprocess.run(["bash", "-euo", "pipefail", "-c", steps], capture_output=True, text=True, check=True)
        created, listed = json_documents(ran.stdout)
        assert listed["items"][0]["id"] == created["id"]
        key = {"X-API-Key": (Path(devstack_env["TASKFLOW_DATA_DIR"]) / "dev-api-key").read_text().strip()}
        task_url = f"http://127.0.0.1:{port}/tasks/{created['id']}"
        # How fast is the bench's to say (make bench: create -> succeeded); here, only that it succeeds.
        done = wait_until(
            lambda: (t := httpx.get(task_url, headers=key).json())["status"] == "succeeded" and t,
            30,
            "the README's task succeeding",
        )
        assert done["correlation_id"] == "my-first-task"

        api_examples = readme_block("API=http://127.0.0.1:8000", port, devstack_env["TASKFLOW_DATA_DIR"])
        first = run_readme_block(api_examples, key["X-API-Key"])
        created, _, task_types, edited, events = run_readme_block(api_examples, key["X-API-Key"])
        assert created["id"] == first[0]["id"], "the Idempotency-Key example replays the same task"
        assert {t["name"] for t in task_types} == {"word_stats", "invoice_fields", "send_email", "report"}
        assert edited.get("labels") == ["reviewed"] or edited["type"].endswith("task-already-started")
        assert events[0]["from_status"] is None
        unknown = readme_block("curl -s -X POST http://127.0.0.1:8000/tasks", port, devstack_env["TASKFLOW_DATA_DIR"])
        assert run_readme_block(unknown, key["X-API-Key"])[0]["type"] == "urn:taskflow:problem:unknown-task-type"
    finally:
        stop(process)
    assert process.returncode == 0, log_path.read_text()[-2000:]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)

    process = start_devstack(devstack_env, log_path)
    try:
        wait_for_banner(log_path, process, 2)
        assert httpx.get(task_url, headers=key).json()["status"] == "succeeded"
        assert re.findall(r"API key\s+(\S+)", log_path.read_text()) == [key["X-API-Key"]] * 2, "key reused"
    finally:
        stop(process)


def test_a_taken_port_is_named_with_the_way_out(devstack_env, tmp_path):
    import socket

    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", int(devstack_env["API_PORT"])))
        squatter.listen()
        result = subprocess.run(
            [sys.executable, "-m", "devstack"], cwd=ROOT, env=devstack_env, capture_output=True, text=True, timeout=30
        )
    assert result.returncode != 0
    assert f"port {devstack_env['API_PORT']} is already in use" in result.stderr
    assert "make dev API_PORT=" in result.stderr
