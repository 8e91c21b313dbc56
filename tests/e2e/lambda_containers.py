"""The Lambda image, run on this machine: its task root laid out by lambda/Dockerfile's COPY lines, its packages
from lambda/requirements.txt (.venv-lambda), and its command, `python -m awslambdaric <CMD>`, polling a
stand-in of the emulator's Runtime API. What differs from the container is only the base image's Python."""

import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from tests.lambda_runtime_api import LambdaRuntimeApi

ROOT = Path(__file__).resolve().parents[2]
LAMBDA_PYTHON = ROOT / ".venv-lambda" / "bin" / "python"


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
