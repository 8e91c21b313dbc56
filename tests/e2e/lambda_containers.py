"""The Lambda image, run on this machine: its task root laid out by lambda/Dockerfile's COPY lines, its packages
from lambda/requirements.txt (.venv-lambda), and its command, `python -m awslambdaric <CMD>`, polling a
stand-in of the emulator's Runtime API. What differs from the container is only the base image's Python."""

import json
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.lambda_runtime_api import LambdaRuntimeApi
from tests.static.conftest import dockerfile

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_PYTHON = ROOT / ".venv-lambda" / "bin" / "python"
TASK_ROOT_VARIABLE = "${LAMBDA_TASK_ROOT}"


def build_task_root(task_root: Path) -> str:
    """Copy into `task_root` what the Dockerfile copies into LAMBDA_TASK_ROOT; return the handler its CMD names."""
    handler = None
    for instruction, value in dockerfile("lambda/Dockerfile"):
        if instruction == "COPY" and value.split()[1].startswith(TASK_ROOT_VARIABLE):  # the task root's only
            source, destination = value.split()
            target = Path(destination.replace(TASK_ROOT_VARIABLE, str(task_root)))
            if destination.endswith("/"):
                target = target / Path(source).name
            copy = shutil.copytree if (ROOT / source).is_dir() else shutil.copy2
            target.parent.mkdir(parents=True, exist_ok=True)
            copy(ROOT / source, target)
        elif instruction == "CMD":
            (handler,) = json.loads(value)  # the exec form, a JSON array
    assert handler, "lambda/Dockerfile has no CMD naming the handler"
    return handler


@contextmanager
def lambda_container(
    task_root: Path, handler: str, runtime_api: LambdaRuntimeApi, env: dict, log: IO[str]
) -> Iterator[subprocess.Popen]:
    """The image's command, polling `runtime_api` (whose `function_url` the event source mapping invokes)."""
    process = subprocess.Popen(
        [str(LAMBDA_PYTHON), "-m", "awslambdaric", handler],
        cwd=task_root,
        env={
            "PATH": "/usr/bin:/bin",
            "LAMBDA_TASK_ROOT": str(task_root),
            "AWS_LAMBDA_RUNTIME_API": runtime_api.address,
            "AWS_LAMBDA_FUNCTION_NAME": "task-consumer",
            # As compose gives its `lambda` containers (on AWS, the function's role provides them).
            "AWS_ACCESS_KEY_ID": "test",
            "AWS_SECRET_ACCESS_KEY": "test",
            **env,
        },
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        process.wait(10)
