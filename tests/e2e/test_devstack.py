"""The newcomer's path: `python -m devstack` (what `make dev` runs) with nothing given, then the README's curl."""

import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from devstack.localstack import free_port
from tests.e2e.conftest import wait_until

ROOT = Path(__file__).resolve().parents[2]


def readme_create_command(port: int) -> str:
    """The README's first `curl ... POST .../tasks` command, pointed at `port`."""
    readme = (ROOT / "README.md").read_text()
    command = re.search(r"^curl -s -X POST http://127\.0\.0\.1:8000/tasks .*?\n.*?-d '.*?'$", readme, re.M | re.S)
    assert command, "the README lost its create-a-task curl"
    return command.group(0).replace(":8000", f":{port}")


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
def devstack_env(tmp_path) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "AWS_ENDPOINT_URL")}
    return {
        **env,
        "TASKFLOW_DATA_DIR": str(tmp_path / "data"),
        "API_PORT": str(free_port()),
        "LOCALSTACK_PORT": str(free_port()),
    }


def test_make_dev_runs_the_whole_system_and_keeps_tasks_across_a_restart(devstack_env, tmp_path):
    port = int(devstack_env["API_PORT"])
    log_path = tmp_path / "devstack.log"
    process = start_devstack(devstack_env, log_path)
    try:
        wait_for_banner(log_path, process, 1)
        assert "starting embedded PostgreSQL" in log_path.read_text()
        created = subprocess.run(readme_create_command(port), shell=True, capture_output=True, text=True, check=True)
        task_id = httpx.Response(200, content=created.stdout).json()["id"]
        started = time.monotonic()
        done = wait_until(
            lambda: (t := httpx.get(f"http://127.0.0.1:{port}/tasks/{task_id}").json())["status"] == "succeeded" and t,
            2,
            "the README's task succeeding",
        )
        assert time.monotonic() - started < 2
        assert done["correlation_id"] == "my-first-task"
    finally:
        stop(process)
    assert process.returncode == 0, log_path.read_text()[-2000:]
    with pytest.raises(httpx.HTTPError):
        httpx.get(f"http://127.0.0.1:{port}/health", timeout=1)

    process = start_devstack(devstack_env, log_path)
    try:
        wait_for_banner(log_path, process, 2)
        assert httpx.get(f"http://127.0.0.1:{port}/tasks/{task_id}").json()["status"] == "succeeded"
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
