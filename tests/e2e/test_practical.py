"""Every practical task's acceptance test fails on this code and passes with its reference solution, run as
`make practical NAME=...` runs it, on a copy of the source tree."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.source_tree import ROOT, copy_source_tree

TASKS = sorted(p.name for p in (ROOT / "practical").iterdir() if (p / "test_acceptance.py").exists())


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return copy_source_tree(tmp_path_factory.mktemp("practical-tree"))


def test_the_guide_lists_every_practical_task():
    guide = (ROOT / "INTERVIEW_QUESTIONS.md").read_text()
    assert len(TASKS) >= 3 and all(f"practical/{name}/test_acceptance.py" in guide for name in TASKS)


@pytest.mark.parametrize("name", TASKS)
def test_the_acceptance_test_fails_now_and_passes_with_the_solution(
    tree: Path, name, postgres_server_url, sqs_endpoint
):
    env = {**os.environ, "DATABASE_URL": postgres_server_url, "AWS_ENDPOINT_URL": sqs_endpoint}
    acceptance = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"practical/{name}"]
    before = subprocess.run(acceptance, cwd=tree, env=env, capture_output=True, text=True)
    assert before.returncode == 1, before.stdout[-2000:]
    solution = str(ROOT / "practical" / name / "solution.patch")
    subprocess.run(["git", "apply", solution], cwd=tree, check=True)
    try:
        after = subprocess.run(acceptance, cwd=tree, env=env, capture_output=True, text=True)
        assert after.returncode == 0, after.stdout[-2000:]
        unit = subprocess.run([*acceptance[:-1], "tests/unit"], cwd=tree, env=env, capture_output=True, text=True)
        assert unit.returncode == 0, f"the solution breaks the unit tests:\n{unit.stdout[-2000:]}"
    finally:
        subprocess.run(["git", "apply", "--reverse", solution], cwd=tree, check=True)
