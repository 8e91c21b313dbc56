"""This project's stack as the benches start it: a database and a queue of its own, and the environment its
processes read."""

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from devstack.postgres import create_database, drop_database, migrate
from devstack.queues import provision_queues

REGION = "us-east-1"


def use_local_credentials() -> None:
    """Local endpoints accept any credentials; boto3 insists on having some."""
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")


@contextmanager
def migrated_database(server: str, prefix: str) -> Iterator[str]:
    """A new database on `server`, migrated to the newest schema, dropped when the block ends; yields its URL."""
    database_url = create_database(server, f"{prefix}_{uuid.uuid4().hex[:8]}")
    try:
        migrate(database_url)
        yield database_url
    finally:
        drop_database(server, database_url.rsplit("/", 1)[1])


def stack_env(database_url: str, endpoint: str, prefix: str, **settings: str) -> dict[str, str]:
    """What the API, the relay and the mapping read, on a new queue named after `prefix`; `settings` on top."""
    queue_name = f"{prefix}-{uuid.uuid4().hex[:8]}"
    provision_queues(endpoint, REGION, queue_name)
    return {"DATABASE_URL": database_url, "AWS_ENDPOINT_URL": endpoint, "AWS_REGION": REGION, "QUEUE_NAME": queue_name,
            "LOG_LEVEL": "WARNING", **settings}  # fmt: skip
