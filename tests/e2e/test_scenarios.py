"""Self-study mode, as a learner runs it (`python -m scenarios ...`, what the make targets call) in a clone of
this repository: `setup` plants a fault in the working tree, the check fails, `reset` takes it out (edits to the
files it touched go too) and the check passes. Interviews use a workspace instead (tests/e2e/test_interviews.py)."""

import os
import subprocess
import sys

import pytest

from devstack import ROOT
from scenarios.catalog import scenario

# One scenario is enough to prove the mode; every scenario's check is proved on a workspace.
SELF_STUDY = scenario("outage-made-worse")


@pytest.fixture
def clone(tmp_path):
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(tmp_path / "clone")], check=True)
    return tmp_path / "clone"


def test_setup_plants_the_fault_and_reset_takes_it_out(clone, postgres_server_url, sqs_endpoint):
    env = {**os.environ, "DATABASE_URL": postgres_server_url, "AWS_ENDPOINT_URL": sqs_endpoint}

    def scenarios(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "scenarios", *args], cwd=clone, env=env, capture_output=True,
                              text=True)  # fmt: skip

    assert scenarios("setup", SELF_STUDY.name).returncode == 0
    assert "taskflow/domain/retry.py" in subprocess.run(["git", "status", "--short"], cwd=clone, capture_output=True,
                                                         text=True).stdout  # fmt: skip
    again = scenarios("setup", SELF_STUDY.name)
    assert again.returncode != 0 and "make scenario-reset" in again.stderr, "one planted fault at a time"
    failing = scenarios("check", SELF_STUDY.name)
    assert failing.returncode == 1 and "NOT SOLVED YET" in failing.stdout, failing.stdout[-2000:]
    (clone / "taskflow" / "domain" / "retry.py").write_text("# the learner's half-finished edit\n")
    assert scenarios("reset").returncode == 0
    assert subprocess.run(["git", "status", "--porcelain"], cwd=clone, capture_output=True, text=True).stdout == ""
    passing = scenarios("check", SELF_STUDY.name)
    assert passing.returncode == 0 and "SOLVED" in passing.stdout, passing.stdout[-2000:]
