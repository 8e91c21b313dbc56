"""LocalStack's SQS, run on this machine from its own virtualenv (its pins clash with ours)."""

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from devstack import ROOT

LOCALSTACK_PYTHON = ROOT / ".venv-localstack" / "bin" / "python"


class LocalStackMissing(RuntimeError):
    """The LocalStack virtualenv has not been created."""


def localstack_environment(port: int, state_dir: Path) -> dict[str, str]:
    """The variables that make LocalStack run SQS only, on the host, without Docker."""
    return {
        **os.environ,
        "SERVICES": "sqs",
        "OVERRIDE_IN_DOCKER": "0",
        "GATEWAY_LISTEN": f"127.0.0.1:{port}",
        "LOCALSTACK_HOST": f"localhost:{port}",
        "SQS_ENDPOINT_STRATEGY": "path",
        "FILESYSTEM_ROOT": str(state_dir),
        "DNS_ADDRESS": "0",
        "SKIP_SSL_CERT_DOWNLOAD": "1",
        "DISABLE_EVENTS": "1",
    }


def start_localstack(port: int, state_dir: Path, log_file) -> subprocess.Popen:
    """Start LocalStack and wait until its SQS answers; raise if it does not within a minute."""
    if not LOCALSTACK_PYTHON.exists():
        raise LocalStackMissing(f"{LOCALSTACK_PYTHON} is missing: run `make venv` first")
    state_dir.mkdir(parents=True, exist_ok=True)
    process = subprocess.Popen(
        [str(LOCALSTACK_PYTHON), "-m", "localstack.runtime.main"],
        env=localstack_environment(port, state_dir),
        # Not the repository root: our localstack/ folder would shadow the localstack package there.
        cwd=state_dir,
        stdout=log_file,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    wait_for_sqs(f"http://127.0.0.1:{port}", process)
    return process


def wait_for_sqs(endpoint: str, process: subprocess.Popen | None = None, timeout: float = 60) -> None:
    """Block until LocalStack reports SQS available."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"LocalStack exited with code {process.returncode}")
        try:
            services = httpx.get(f"{endpoint}/_localstack/health", timeout=1).json()["services"]
            if services.get("sqs") in ("available", "running"):
                return
        except (httpx.HTTPError, ValueError, KeyError):
            pass
        time.sleep(0.2)
    raise TimeoutError(f"LocalStack SQS at {endpoint} did not become available in {timeout:.0f}s")


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
            process.terminate()
            process.wait(15)
