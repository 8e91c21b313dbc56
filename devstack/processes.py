"""Starting our own processes (API, relay, event source mapping) and stopping all of them together."""

import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

from devstack import ROOT
from taskflow.lifetime import dies_with_this_process


def service_commands(api_port: int, *, python: str = sys.executable, host: str = "127.0.0.1") -> dict[str, list[str]]:
    """The command of each long-running process; compose runs the same ones (python="python", host="0.0.0.0")."""
    return {
        "api": [
            python,
            "-m",
            "uvicorn",
            "api.main:app",
            "--host",
            host,
            "--port",
            str(api_port),
            "--no-access-log",
            "--log-level",
            "warning",
            # On SIGTERM (docker stop, ECS), requests in flight get this long to finish; open /stream connections
            # are cut then (the dashboard reconnects elsewhere), so the API always exits within 5 s.
            "--timeout-graceful-shutdown",
            "3",
        ],
        "relay": [python, "-m", "relay"],
        "esm": [python, "-m", "esm"],
    }


def mail_sink_command(api_port: int, python: str = sys.executable) -> list[str]:
    """The development stack's SMTP sink (SMTP on api_port+102, its counts on api_port+103)."""
    return [python, "-m", "devstack.mail_sink", str(api_port + 102), str(api_port + 103)]


# The database role each process acts as (DATABASE_ROLE), the one its login has on AWS (migration 0009): so
# every stack here runs with production's grants. The mapping's execution environments (the consumer) inherit it.
SERVICE_ROLES = {"api": "taskflow_api", "relay": "taskflow_relay", "esm": "taskflow_consumer"}


def migrate_command(python: str = sys.executable) -> list[str]:
    """The one-shot schema migration; compose's `migrate` service runs it too."""
    return [python, "-m", "alembic", "upgrade", "head"]


def end_processes(processes: list[subprocess.Popen], timeout: float = 10) -> None:
    """SIGTERM each process still running, all at once; SIGKILL those still running `timeout` seconds later."""
    running = [p for p in processes if p.poll() is None]
    for process in running:
        process.terminate()
    deadline = time.monotonic() + timeout
    for process in running:
        try:
            process.wait(max(0.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@dataclass
class ProcessGroup:
    """Child processes whose output is copied, line by line with a name prefix, to one stream.

    Each child gets SIGTERM from the kernel when the thread that started it ends (its parent dies): start
    them from the main thread, or from a thread that outlives them.
    """

    output: IO[str] = sys.stdout
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)
    cwd: Path = ROOT  # the source tree the processes run (python -m imports from it first)

    def start(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        """Start `command` as `name` (acting as its database role, unless `env` names another)."""
        role = {"DATABASE_ROLE": SERVICE_ROLES[name]} if name in SERVICE_ROLES else {}
        process = subprocess.Popen(
            command,
            cwd=self.cwd,
            env={**os.environ, **role, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            bufsize=1,
            start_new_session=True,  # Ctrl-C reaches our process only, which then stops the group
            preexec_fn=dies_with_this_process(),
        )
        self.processes[name] = process
        threading.Thread(target=self._copy_output, args=(name, process), daemon=True).start()
        return process

    def _copy_output(self, name: str, process: subprocess.Popen) -> None:
        for line in process.stdout:
            self.output.write(f"{name:>6} | {line}")
            self.output.flush()

    def stop(self, name: str, sig: int = signal.SIGTERM, timeout: float = 10) -> None:
        """Stop one process: `sig` first, SIGKILL if it is still alive after `timeout` seconds."""
        process = self.processes.pop(name)
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def stop_all(self, timeout: float = 10, also: list[subprocess.Popen] = ()) -> None:
        """Stop every process, and `also` these, at once: SIGTERM, then SIGKILL for any still running after
        `timeout` seconds."""
        processes, self.processes = list(self.processes.values()), {}
        end_processes([*processes, *also], timeout)

    def exited(self) -> dict[str, int]:
        """{name: exit code} of the processes that have stopped on their own."""
        return {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}


def wait_until_healthy(url: str, timeout: float = 30) -> None:
    """Block until `url` answers 200; raise TimeoutError after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer in {timeout:.0f}s")
