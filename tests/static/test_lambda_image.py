"""The Lambda image's task root, laid out as lambda/Dockerfile copies it: the handler loads from it with the
image's packages only (lambda/requirements.txt, in .venv-lambda, where nothing of the repository is installed),
and it holds nothing the handler does not import."""

import json
import subprocess
from pathlib import Path

from tests.e2e.lambda_containers import LAMBDA_PYTHON
from tests.static.conftest import build_task_root

# Imports the handler and every task type (they load on first use), then names what it loaded.
PROBE = """
import json, sys
import handler
from taskflow.task_types import all_task_types
all_task_types()
print(json.dumps({
    "files": sorted(getattr(module, "__file__", None) or "" for module in list(sys.modules.values())),
}))
"""


def files_loaded_by_the_handler(task_root: Path) -> set[Path]:
    loaded = subprocess.run(
        [str(LAMBDA_PYTHON), "-c", PROBE],
        cwd=task_root,
        capture_output=True,
        text=True,
        env={
            "PYTHONPATH": str(task_root),  # the task root alone, as in the image: not the repository
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "AWS_REGION": "us-east-1",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert loaded.returncode == 0, f"the handler does not load from the image's task root:\n{loaded.stderr}"
    return {Path(file).resolve() for file in json.loads(loaded.stdout)["files"] if file}


def test_the_task_root_holds_what_the_handler_imports_and_nothing_else(tmp_path):
    task_root = tmp_path / "task-root"
    handler = build_task_root(task_root)
    assert handler == "handler.lambda_handler"
    imported = files_loaded_by_the_handler(task_root)
    shipped = {file.resolve() for file in task_root.rglob("*.py")}
    assert shipped - imported == set(), "lambda/Dockerfile copies modules the handler never imports"

