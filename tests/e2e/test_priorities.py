"""Priorities that work: a priority-9 task does not wait behind a backlog of 5,000 normal ones, because it has a
queue of its own (and goes first out of the outbox) and the mapping of that queue has environments of its own."""

import time

import httpx
import psycopg
import pytest
from sqlalchemy import insert, select

from devstack.processes import service_commands
from taskflow.db.engine import libpq_url, make_engine
from taskflow.db.models import OutboxMessage, Task, TaskEvent, Tenant
from taskflow.services.creation import new_task
from tests.e2e.conftest import running_stack
from tests.waiting import wait_until

BACKLOG = 5_000


@pytest.fixture
def stack_without_consumer(postgres_server_url, sqs_endpoint, tmp_path):
    """The stack with its event source mapping held back, so that a backlog can build up first."""
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "stack.log", commands={"esm": None}) as stack:
        yield stack


def create_backlog(stack, count: int) -> None:
    """`count` normal tasks, each built and saved as the API saves one (the task, its first event, its outbox row),
    all in one transaction: the backlog is what this test needs, not the API's speed (make bench measures that)."""
    engine = make_engine(stack.env["DATABASE_URL"], pool_size=1)
    with engine.begin() as connection:
        tenant = connection.scalar(select(Tenant.id).where(Tenant.name == "e2e"))
        built = [new_task(tenant_id=tenant, task_type="word_stats", payload={"text": "a backlog of normal tasks"},
                          correlation_id=f"backlog-{i}") for i in range(count)]  # fmt: skip
        for model, part in ((Task, "task"), (TaskEvent, "first_event"), (OutboxMessage, "message")):
            connection.execute(insert(model), [columns_of(model, getattr(new, part)) for new in built])
    engine.dispose()


def columns_of(model, row) -> dict:
    """The row's values for every column but a generated id."""
    generated = {c.key for c in model.__table__.columns if c.primary_key and c.autoincrement is True}
    return {c.key: getattr(row, c.key) for c in model.__table__.columns if c.key not in generated}


def count_by_status(stack) -> dict[str, int]:
    with psycopg.connect(libpq_url(stack.env["DATABASE_URL"])) as connection:
        return dict(connection.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall())


def test_a_priority_9_task_overtakes_a_backlog_of_5000(stack_without_consumer):
    stack = stack_without_consumer
    create_backlog(stack, BACKLOG)
    wait_until(lambda: count_by_status(stack) == {"queued": BACKLOG}, 120, "the backlog published to the queue")
    stack.group.start("esm", service_commands(0)["esm"], stack.env)
    wait_until(lambda: count_by_status(stack).get("succeeded"), 60, "the consumer working through the backlog")

    started = time.monotonic()
    urgent = httpx.post(f"{stack.base_url}/tasks", headers=stack.headers,
                        json={"type": "word_stats", "payload": {"text": "urgent"}, "priority": 9}).json()  # fmt: skip
    done = wait_until(lambda: succeeded(stack, urgent["id"]), 60, "the priority-9 task succeeding")
    took = time.monotonic() - started
    waiting = BACKLOG - count_by_status(stack).get("succeeded", 0) + 1  # the urgent task itself has succeeded
    print(f"priority 9 behind {BACKLOG} normal tasks: succeeded in {took * 1000:.0f} ms, {waiting} still waiting")
    assert done["status"] == "succeeded"
    assert waiting >= BACKLOG // 2, f"the urgent task waited for the backlog: only {waiting} normal tasks were left"


def succeeded(stack, task_id: str) -> dict | None:
    task = httpx.get(f"{stack.base_url}/tasks/{task_id}", headers=stack.headers).json()
    return task if task["status"] == "succeeded" else None
