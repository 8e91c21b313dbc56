"""A copy of the source tree for tests that change code (a scaffolded task type, a planted fault)."""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COPIED = ["taskflow", "api", "esm", "lambda", "devstack", "alembic", "alembic.ini", "localstack", "scenarios", "tests",
          "pyproject.toml", ".env.example", "practical"]  # fmt: skip


def copy_source_tree(target: Path) -> Path:
    """Copy what the processes, the tests and the scenarios need into `target`; return it."""
    target.mkdir(parents=True, exist_ok=True)
    for name in COPIED:
        source = ROOT / name
        if not source.exists():
            continue  # a candidate's workspace has no scenarios/
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=shutil.ignore_patterns("__pycache__", ".pytest_cache"))
        else:
            shutil.copy2(source, target / name)
    return target
