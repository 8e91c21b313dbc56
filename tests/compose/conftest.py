"""The compose stack, for real: base images (upstream's or stand-ins), `docker compose up --build --wait` under a
project of this run's own on free loopback ports, and a key made with `make compose-api-key`.

Run by `make test-compose` (tests/compose/with-engine.sh provides the engine); `make test` leaves this folder out."""

import json
import os
import re
import subprocess
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import psutil
import pytest

from devstack import ROOT
from tests.compose.images import BaseImage, base_images
from tests.ports import free_port

PROJECT_PREFIX = "taskflow-test-"
# What the closing summary prints: the figures a run measured.
FIGURES: dict[str, str] = {}


@dataclass
class ComposeStack:
    project: str
    env: dict[str, str]
    api: httpx.Client
    key: str

    def compose(self, *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
        """`docker compose ARGS` on this stack."""
        return subprocess.run(["docker", "compose", *args], cwd=ROOT, env=self.env, capture_output=True, text=True,
                              check=check, timeout=timeout)  # fmt: skip

    def make(self, *args: str) -> subprocess.CompletedProcess:
        """A make target of ours, on this stack (COMPOSE_PROJECT_NAME picks it)."""
        return subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, env=self.env, capture_output=True,
                              text=True, check=True, timeout=300)  # fmt: skip

    def save_logs(self) -> None:
        """Every service's recent log lines, in .data/compose-test.log, for a failure to be read after `down`."""
        logs = self.compose("logs", "--no-color", "--timestamps", "--tail", "300", check=False).stdout
        (ROOT / ".data").mkdir(exist_ok=True)
        (ROOT / ".data" / "compose-test.log").write_text(logs)

    def url(self, port_variable: str) -> str:
        return f"http://127.0.0.1:{self.env[port_variable]}"

    def containers(self, *filters: str) -> list[dict]:
        """`docker ps -a` for this project's containers, as dicts."""
        listed = subprocess.run(["docker", "ps", "--all", "--format", "{{json .}}", "--filter",
                                 f"label=com.docker.compose.project={self.project}", *filters],
                                capture_output=True, text=True, check=True)  # fmt: skip
        return [json.loads(line) for line in listed.stdout.splitlines()]


def remove_abandoned_stacks() -> None:
    """Stacks of test runs that were killed before their teardown: their containers restart with the daemon
    (`restart: unless-stopped`). A project names its run's process; a run still alive keeps its stack."""
    listed = subprocess.run(["docker", "ps", "--all", "--format", '{{.Label "com.docker.compose.project"}}'],
                            capture_output=True, text=True, check=True).stdout.split()  # fmt: skip
    for project in set(listed):
        owner = re.fullmatch(rf"{PROJECT_PREFIX}(\d+)-[0-9a-f]+", project)
        if owner and not psutil.pid_exists(int(owner.group(1))):
            subprocess.run(["docker", "compose", "--project-name", project, "down", "--volumes", "--timeout", "5"],
                           capture_output=True, check=False)  # fmt: skip


def stack_environment(project: str, images: list[BaseImage]) -> dict[str, str]:
    published = ("API_PORT", "LOCALSTACK_PORT", "ESM_METRICS_PORT", "RELAY_METRICS_PORT")
    ports = {name: str(free_port()) for name in published}
    return {**os.environ, **ports, **{image.variable: image.used for image in images},
            "COMPOSE_PROJECT_NAME": project}  # fmt: skip


@pytest.fixture(scope="session")
def compose_stack() -> Iterator[ComposeStack]:
    """The stack, up and healthy; taken down with its volumes at the end whatever happened."""
    started = time.monotonic()
    images = base_images()
    FIGURES["base images"] = ", ".join(
        f"{image.used} (stand-in: {image.upstream} cannot be pulled)" if image.is_standin else image.used
        for image in images
    )
    remove_abandoned_stacks()
    project = f"{PROJECT_PREFIX}{os.getpid()}-{uuid.uuid4().hex[:6]}"
    env = stack_environment(project, images)
    stack = ComposeStack(project, env, httpx.Client(base_url=f"http://127.0.0.1:{env['API_PORT']}", timeout=10), "")
    try:
        stack.compose("build", timeout=900)
        built = time.monotonic()
        FIGURES["build (base images and both app images)"] = f"{built - started:.1f} s"
        stack.compose("up", "--detach", "--wait", "--wait-timeout", "180")
        FIGURES["up --wait, to every service healthy"] = f"{time.monotonic() - built:.1f} s"
        stack.key = stack.make("compose-api-key", f"TENANT=compose-{uuid.uuid4().hex[:6]}").stdout.split()[-1]
        yield stack
    finally:
        stack.api.close()
        if stack.containers():
            stack.save_logs()
        stack.compose("down", "--volumes", "--timeout", "10", check=False)


def pytest_terminal_summary(terminalreporter) -> None:
    if FIGURES:
        terminalreporter.section("compose figures")
        for name, value in FIGURES.items():
            terminalreporter.write_line(f"{name}: {value}")
