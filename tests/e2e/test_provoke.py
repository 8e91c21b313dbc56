"""`make scenario-provoke`, for every scenario, as an interviewer runs it: `make dev` in the candidate's workspace
(the fault in its code), then the provoke command from the interviewer's checkout; the symptom's metric moves
within the two minutes the kit promises."""

import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from devstack import ROOT
from devstack.postgres import create_database, drop_database
from scenarios.catalog import all_scenarios
from scenarios.provoking import LIMIT_SECONDS, stack_settings
from scenarios.workspace import prepare_workspace
from tests.ports import free_devstack_port
from tests.waiting import wait_until

SCENARIOS = all_scenarios()


@contextmanager
def dev_stack(tree: Path, data: Path, server_url: str, endpoint: str, settings: dict) -> Iterator[Path]:
    """`make dev` in `tree` (python -m devstack), on a database and queue of its own; yields its data folder."""
    name = f"taskflow_provoke_{uuid.uuid4().hex[:10]}"
    data.mkdir()
    env = {**os.environ, **settings, "DATABASE_URL": create_database(server_url, name), "AWS_ENDPOINT_URL": endpoint,
           "QUEUE_NAME": f"provoke-{uuid.uuid4().hex[:10]}", "API_PORT": str(free_devstack_port()),
           "TASKFLOW_DATA_DIR": str(data)}  # fmt: skip
    log = data / "dev.log"
    with open(log, "w") as output:
        stack = subprocess.Popen([sys.executable, "-m", "devstack"], cwd=tree, env=env, stdout=output,
                                 stderr=subprocess.STDOUT, start_new_session=True)  # fmt: skip
    try:
        wait_until(lambda: stack.poll() is None and "Taskflow is up" in log.read_text() or stack.poll(), 120,
                   "make dev coming up")  # fmt: skip
        assert stack.poll() is None, log.read_text()[-3000:]
        yield data
    finally:
        os.killpg(stack.pid, signal.SIGTERM)
        stack.wait(30)
        drop_database(server_url, name)


def test_every_scenario_can_be_provoked():
    assert [s.name for s in SCENARIOS if not (s.folder / "provoke.py").exists()] == []


@pytest.mark.parametrize("scenario", [s for s in SCENARIOS if (s.folder / "provoke.py").exists()], ids=lambda s: s.name)
def test_provoke_shows_the_symptom_on_a_stack_running_the_workspace(scenario, tmp_path, postgres_server_url,
                                                                    sqs_endpoint):  # fmt: skip
    workspace = prepare_workspace(scenario, tmp_path / "candidate")
    with dev_stack(workspace, tmp_path / "data", postgres_server_url, sqs_endpoint, stack_settings(scenario)) as data:
        provoked = subprocess.run([sys.executable, "-m", "scenarios", "provoke", scenario.name], cwd=ROOT,
                                  env={**os.environ, "TASKFLOW_DATA_DIR": str(data)}, capture_output=True, text=True,
                                  timeout=LIMIT_SECONDS + 60)  # fmt: skip
        assert provoked.returncode == 0, provoked.stdout + provoked.stderr + (data / "dev.log").read_text()[-3000:]
    assert "the symptom shows after" in provoked.stdout, provoked.stdout
