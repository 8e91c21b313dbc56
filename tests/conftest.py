"""Fixtures every tier shares: a real PostgreSQL and a real SQS endpoint, found or started once per run.

PostgreSQL: DATABASE_URL if set, else 127.0.0.1:5432 if it answers, else an embedded server started here.
SQS: AWS_ENDPOINT_URL if set, else LocalStack started here. Each run gets its own database; each test
that touches a queue gets its own queue.
"""

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from devstack.localstack import sqs_endpoint as localstack_or_given_endpoint
from devstack.postgres import migrated_database, server_for_tests

os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
os.environ.setdefault("AWS_REGION", "us-east-1")

REGION = os.environ["AWS_REGION"]
# What `from tests.conftest import *` gives the conftests outside tests/ (scenarios/, practical/): the fixtures.
__all__ = [
    "database_url", "postgres_server_url", "private_dir", "private_root", "queue", "sessions", "sqs_client",
    "sqs_endpoint",
]  # fmt: skip


@pytest.fixture(scope="session")
def private_root() -> Iterator[Path]:
    """A temporary folder of this run's own, outside pytest's temporary root: a server that runs as another user
    (the embedded PostgreSQL, as root) keeps its data here, since pytest makes its own root private again
    whenever another session starts, and the server would then lose its data directory."""
    root = Path(tempfile.mkdtemp(prefix="taskflow-tests-"))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def private_dir(private_root: Path, request) -> Path:
    """A folder of this test's own in `private_root`."""
    return Path(tempfile.mkdtemp(prefix=f"{request.node.name[:40]}-", dir=private_root))


@pytest.fixture(scope="session")
def postgres_server_url(private_root) -> Iterator[str]:
    with server_for_tests(private_root / "session") as url:
        yield url


@pytest.fixture(scope="session")
def database_url(postgres_server_url) -> Iterator[str]:
    """A freshly migrated database of this test run's own, dropped at the end."""
    with migrated_database(postgres_server_url, "taskflow_test") as url:
        yield url


@pytest.fixture(scope="session")
def sqs_endpoint(tmp_path_factory) -> Iterator[str]:
    with localstack_or_given_endpoint(tmp_path_factory.mktemp("sqs")) as endpoint:
        yield endpoint


@pytest.fixture(scope="session")
def sqs_client(sqs_endpoint):
    return boto3.client("sqs", endpoint_url=sqs_endpoint, region_name=REGION)


@dataclass(frozen=True)
class TestQueue:
    name: str
    url: str
    dlq_url: str
    high_priority_url: str
    high_priority_dlq_url: str


@pytest.fixture
def queue(sqs_endpoint, sqs_client) -> Iterator[TestQueue]:
    """Task queues and dead-letter queues of this test's own, provisioned as the dev stack does it."""
    from devstack.queues import provision_queues
    from taskflow.domain.priority import high_priority_queue_name

    name = f"test-{uuid.uuid4().hex[:12]}"
    urls = provision_queues(sqs_endpoint, REGION, name)
    high = high_priority_queue_name(name)
    yield TestQueue(name, urls[name], urls[f"{name}-dlq"], urls[high], urls[f"{high}-dlq"])
    for url in urls.values():
        sqs_client.delete_queue(QueueUrl=url)


@pytest.fixture(scope="session")
def sessions(database_url):
    from taskflow.db.engine import make_engine, make_session_factory

    engine = make_engine(database_url, pool_size=5)
    yield make_session_factory(engine)
    engine.dispose()
