"""Every scenario's check fails once its fault is planted and passes after the reference fix (the fault taken
out again), run the way an interviewer runs them (`python -m scenarios ...`, what the make targets call), on a
copy of the source tree."""

import os
import subprocess
import sys

import pytest

from scenarios.__main__ import names
from tests.source_tree import copy_source_tree


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    return copy_source_tree(tmp_path_factory.mktemp("scenario-tree"))


def test_there_are_at_least_eight_scenarios():
    assert len(names()) >= 8, names()


@pytest.mark.parametrize("name", names())
def test_the_check_fails_with_the_fault_and_passes_after_the_fix(tree, name, postgres_server_url, sqs_endpoint):
    env = {**os.environ, "DATABASE_URL": postgres_server_url, "AWS_ENDPOINT_URL": sqs_endpoint}

    def scenarios(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "scenarios", *args], cwd=tree, env=env, capture_output=True, text=True
        )

    assert scenarios("setup", name).returncode == 0
    try:
        failing = scenarios("check", name)
        assert failing.returncode == 1 and "NOT SOLVED YET" in failing.stdout, failing.stdout[-2000:]
    finally:
        assert scenarios("reset").returncode == 0
    passing = scenarios("check", name)
    assert passing.returncode == 0 and "SOLVED" in passing.stdout, passing.stdout[-2000:]
