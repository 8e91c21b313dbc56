"""This project's stack as the benches start it: a database and a queue of its own, the environment its
processes read, and its processes."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from devstack.dev_key import new_api_key
from devstack.localstack import free_port
from devstack.processes import ProcessGroup, service_commands, wait_until_healthy
from devstack.queues import provision_queues

REGION = "us-east-1"


def use_local_credentials() -> None:
    """Local endpoints accept any credentials; boto3 insists on having some."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")


def stack_env(database_url: str, endpoint: str, prefix: str, **settings: str) -> dict[str, str]:
    """What the API, the relay and the mapping read, on a new queue named after `prefix`; `settings` on top."""
    queue_name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    provision_queues(endpoint, REGION, queue_name)
    return {"DATABASE_URL": database_url, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "QUEUE_NAME": queue_name,
            "LOG_LEVEL": "WARNING", **settings}  # fmt: skip


@dataclass
class OurStack:
    """A running stack: its API's address, a tenant's key, and how to start its other processes."""

    base: str
    headers: dict
    group: ProcessGroup
    commands: dict[str, list[str]]
    env: dict[str, str]

    def start(self, *names: str) -> None:
        """Start these processes of the stack (relay, esm)."""
        for name in names:
            self.group.start(name, self.commands[name], self.env)


@contextmanager
def our_stack(database_url: str, endpoint: str, prefix: str, log_path: Path, api_workers: int = 1,
              **settings: str) -> Iterator[OurStack]:  # fmt: skip
    """The API running and healthy (with `api_workers` workers) on a new queue, a key of tenant `prefix`; the relay
    and the mapping are started by the caller. Every process is stopped when the block ends."""
    env = stack_env(database_url, endpoint, prefix, **settings)
    port = free_port()
    commands = service_commands(port)
    commands["api"] += ["--workers", str(api_workers)] if api_workers > 1 else []
    headers = {"X-API-Key": new_api_key(database_url, prefix)}
    with open(log_path, "a") as log_file:
        group = ProcessGroup(output=log_file)
        try:
            stack = OurStack(f"http://127.0.0.1:{port}", headers, group, commands, env)
            stack.start("api")
            wait_until_healthy(f"{stack.base}/health")
            yield stack
        finally:
            group.stop_all()
