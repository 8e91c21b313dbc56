"""The real processes, started the way the dev stack starts them, on a database and queue of their own."""

import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from devstack import ROOT
from devstack.dev_key import new_api_key
from devstack.postgres import create_database, drop_database, migrate
from devstack.processes import ProcessGroup, service_commands, wait_until_healthy
from devstack.queues import provision_queues
from tests.conftest import REGION
from tests.ports import free_port
from tests.source_tree import copy_source_tree
from tests.waiting import wait_until

pytestmark = pytest.mark.e2e


@dataclass
class Stack:
    base_url: str
    headers: dict
    queue_url: str
    log_path: Path
    group: ProcessGroup
    env: dict
    commands: dict

    def logs(self) -> str:
        return self.log_path.read_text()

    def wait_for_log(self, *needles: str, timeout: float = 10) -> str:
        """The first log line containing every needle; fails the test if none appears in time."""

        def matching() -> list[str]:
            return [line for line in self.logs().splitlines() if all(n in line for n in needles)]

        return wait_until(matching, timeout, f"a log line with {needles}")[0]


@contextmanager
def running_stack(
    server_url: str,
    endpoint: str,
    log_path: Path,
    env: dict | None = None,
    source: Path = ROOT,
    commands: dict | None = None,
    queue_attributes: dict | None = None,
) -> Iterator[Stack]:
    """API, relay and event source mapping, as the dev stack starts them, on a database and queue of their own,
    running the code in `source` (the repository, or a copy a test changed); `commands` replaces some of them.

    `queue_attributes` are set before anything polls the queue: SQS applies a visibility timeout when a receive
    starts, so a change made while the consumer long-polls would miss the messages of that receive."""
    name = f"taskflow_e2e_{uuid.uuid4().hex[:10]}"
    database_url = create_database(server_url, name)
    migrate(database_url)
    queue_name = f"e2e-{uuid.uuid4().hex[:10]}"
    queue_url = provision_queues(endpoint, REGION, queue_name)[queue_name]
    if queue_attributes:
        sqs = boto3.client("sqs", endpoint_url=endpoint, region_name=REGION)
        sqs.set_queue_attributes(QueueUrl=queue_url, Attributes=queue_attributes)
    key = new_api_key(database_url, "e2e")
    port = free_port()
    env = {
        "DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "QUEUE_NAME": queue_name,
        **(env or {}),
    }
    with open(log_path, "w") as log_file:
        group = ProcessGroup(output=log_file, cwd=source)
        commands = service_commands(port) | (commands or {})
        try:
            for process_name, command in commands.items():
                if command:  # None: the test starts it itself, later (stack.group.start)
                    group.start(process_name, command, env)
            base_url = f"http://127.0.0.1:{port}"
            wait_until_healthy(f"{base_url}/health")
            yield Stack(base_url, {"X-API-Key": key}, queue_url, log_path, group, env, commands)
        finally:
            group.stop_all()
    drop_database(server_url, name)


@pytest.fixture(scope="module")
def tree_with_test_types(tmp_path_factory) -> Path:
    """A copy of the source tree whose task types include tests/e2e/task_types (a sleeper, a consumer killer)."""
    tree = copy_source_tree(tmp_path_factory.mktemp("tree"))
    for module in (ROOT / "tests" / "e2e" / "task_types").glob("*.py"):
        shutil.copy(module, tree / "taskflow" / "task_types" / module.name)
    return tree


@pytest.fixture(scope="module")
def stack(postgres_server_url, sqs_endpoint, tmp_path_factory):
    log_path = tmp_path_factory.mktemp("stack") / "stack.log"
    with running_stack(postgres_server_url, sqs_endpoint, log_path) as running:
        yield running
