"""Priorities that work: a priority-9 task does not wait behind a backlog of 5,000 normal ones, because it has a
queue of its own (and goes first out of the outbox) and the mapping of that queue has environments of its own."""

import asyncio
import time
import uuid

import httpx
import psycopg
import pytest

from devstack.processes import service_commands
from taskflow.db.engine import libpq_url
from tests.e2e.conftest import running_stack
from tests.waiting import wait_until

BACKLOG = 5_000


@pytest.fixture
def stack_without_consumer(postgres_server_url, sqs_endpoint, tmp_path):
    """The stack with its event source mapping held back, so that a backlog can build up first."""
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "stack.log", commands={"esm": None}) as stack:
        yield stack


async def create_many(stack, count: int, clients: int = 16) -> int:
    """Create `count` tasks over HTTP; a request cut off (a busy machine) is repeated with its Idempotency-Key, so
    each task is created once. Returns how many requests were repeated."""
    body = {"type": "word_stats", "payload": {"text": "a backlog of normal tasks"}}
    repeated = 0
    async with httpx.AsyncClient(base_url=stack.base_url, headers=stack.headers, timeout=30) as client:

        async def create_one() -> None:
            nonlocal repeated
            key = {"Idempotency-Key": str(uuid.uuid4())}
            for _attempt in range(5):
                try:
                    (await client.post("/tasks", json=body, headers=key)).raise_for_status()
                    return
                except httpx.TransportError:
                    repeated += 1
            raise AssertionError("a create failed five times")

        async def worker(n: int) -> None:
            for _ in range(n):
                await create_one()

        await asyncio.gather(*(worker(count // clients + (i < count % clients)) for i in range(clients)))
    return repeated


def count_by_status(stack) -> dict[str, int]:
    with psycopg.connect(libpq_url(stack.env["DATABASE_URL"])) as connection:
        return dict(connection.execute("SELECT status, count(*) FROM tasks GROUP BY status").fetchall())


def test_a_priority_9_task_overtakes_a_backlog_of_5000(stack_without_consumer):
    stack = stack_without_consumer
    repeated = asyncio.run(create_many(stack, BACKLOG))
    wait_until(lambda: count_by_status(stack) == {"queued": BACKLOG}, 120, "the backlog published to the queue")
    stack.group.start("esm", service_commands(0)["esm"], stack.env)
    wait_until(lambda: count_by_status(stack).get("succeeded"), 60, "the consumer working through the backlog")

    started = time.monotonic()
    urgent = httpx.post(f"{stack.base_url}/tasks", headers=stack.headers,
                        json={"type": "word_stats", "payload": {"text": "urgent"}, "priority": 9}).json()  # fmt: skip
    done = wait_until(lambda: succeeded(stack, urgent["id"]), 60, "the priority-9 task succeeding")
    took = time.monotonic() - started
    waiting = BACKLOG - count_by_status(stack).get("succeeded", 0) + 1  # the urgent task itself has succeeded
    print(f"priority 9 behind {BACKLOG} normal tasks: succeeded in {took * 1000:.0f} ms, {waiting} still waiting"
          f" ({repeated} create requests repeated)")
    assert done["status"] == "succeeded"
    assert waiting >= BACKLOG // 2, f"the urgent task waited for the backlog: only {waiting} normal tasks were left"


def succeeded(stack, task_id: str) -> dict | None:
    task = httpx.get(f"{stack.base_url}/tasks/{task_id}", headers=stack.headers).json()
    return task if task["status"] == "succeeded" else None
