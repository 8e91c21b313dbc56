"""LocalStack's SQS, run on this machine from its own virtualenv (its pins clash with ours)."""

import os
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devstack import ROOT
from devstack.processes import end_processes
from devstack.queues import INIT_DIR
from taskflow.lifetime import dies_with_this_process

# LocalStack lives in a virtualenv of its own (its pins clash with ours); another tree's can be named, as the
# interviewer's checks do for a candidate's workspace that has none.
LOCALSTACK_PYTHON = Path(os.environ.get("LOCALSTACK_PYTHON", ROOT / ".venv-localstack" / "bin" / "python"))


class LocalStackMissing(RuntimeError):
    """The LocalStack virtualenv has not been created."""


def localstack_environment(port: int, state_dir: Path) -> dict[str, str]:
    """The variables that make LocalStack run SQS only, on the host, without Docker."""
    return {
        **os.environ,
        "SERVICES": "sqs",
        "OVERRIDE_IN_DOCKER": "0",
        # Loopback only. LocalStack's default server (twisted) binds every IPv4 address whatever GATEWAY_LISTEN
        # names, so anyone on the network could send or purge task messages; hypercorn binds what it is told.
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "GATEWAY_SERVER": "hypercorn",
        "LOCALSTACK_HOST": f"localhost:{port}",
        "SQS_ENDPOINT_STRATEGY": "path",
        "FILESYSTEM_ROOT": str(state_dir),
        "DNS_ADDRESS": "0",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
    }


def link_init_hooks(state_dir: Path) -> None:
    """Point LocalStack's init directory (under FILESYSTEM_ROOT, as in its container) at our localstack/init."""
    init_dir = state_dir / "etc" / "localstack" / "init"
    if not init_dir.is_symlink():
        init_dir.parent.mkdir(parents=True, exist_ok=True)
        init_dir.symlink_to(INIT_DIR, target_is_directory=True)


def start_localstack(port: int, state_dir: Path, log_file) -> subprocess.Popen:
    """Start LocalStack and wait until it has run our ready hooks (the queues); raise if not within a minute."""
    if not LOCALSTACK_PYTHON.exists():
        raise LocalStackMissing(f"{LOCALSTACK_PYTHON} is missing: run `make venv` first")
    state_dir.mkdir(parents=True, exist_ok=True)
    link_init_hooks(state_dir)
    process = subprocess.Popen(
        [str(LOCALSTACK_PYTHON), "-m", "localstack.runtime.main"],
        env=localstack_environment(port, state_dir),
        # Not the repository root: our localstack/ folder would shadow the localstack package there.
        cwd=state_dir,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,  # Ctrl-C reaches our process only, which then stops LocalStack in order
        # If we die, LocalStack goes at once: its queues live in memory and die with it anyway, and its graceful
        # stop waits for open long polls, longer than a killed parent's children may linger.
        preexec_fn=dies_with_this_process(signal.SIGKILL),
    )
    wait_for_ready_hooks(f"http://127.0.0.1:{port}", process)
    return process


def wait_for_ready_hooks(endpoint: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Block until LocalStack has run its ready hooks; raise if one failed (compose's healthcheck asks the same)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"LocalStack exited with code {process.returncode}")
        try:
            ready = httpx.get(f"{endpoint}/_localstack/init/ready", timeout=1).json()
        except (httpx.HTTPError, ValueError):
            ready = {}
        failed = [s["name"] for s in ready.get("scripts", []) if s["state"] == "ERROR"]
        if failed:
            raise RuntimeError(f"LocalStack ready hooks failed: {failed} (see LocalStack's log)")
        if ready.get("completed"):
            return
        time.sleep(0.2)
    raise TimeoutError(f"LocalStack at {endpoint} did not finish its ready hooks in {timeout:.0f}s")


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def sqs_endpoint(scratch_dir: Path) -> Iterator[str]:
    """AWS_ENDPOINT_URL if set, else a LocalStack on a free port, running until the block ends."""
    if os.environ.get("AWS_ENDPOINT_URL"):
        yield os.environ["AWS_ENDPOINT_URL"]
        return
    port = free_port()
    with open(scratch_dir / "localstack.log", "wb") as log_file:
        process = start_localstack(port, scratch_dir / "localstack", log_file)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            # A loaded machine can keep LocalStack's shutdown past any wait: stopping it is not an error then.
            end_processes([process], timeout=15)
