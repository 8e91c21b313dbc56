"""Fault tests: each runs a few thousand tasks through the real processes while something breaks, then accounts
for every task: finished exactly once (its result and its final event written once), none lost.

FAULT_TASKS sets the number of tasks (default 2000; `make soak` runs 20000); FAULT_REPORT names a JSON lines
file that collects the accounts.
"""

import os
import random
import signal
import sys
import threading
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path

import boto3
import httpx
import psycopg
import pytest

from devstack.localstack import start_localstack
from devstack.postgres_process import EmbeddedPostgres
from devstack.queues import provision_queues
from taskflow.db.engine import libpq_url
from taskflow.domain.messages import TaskMessage
from tests.conftest import REGION
from tests.e2e.conftest import Stack
from tests.e2e.conftest import running_stack as e2e_stack
from tests.e2e.faults import TASKS, Account, create_tasks, report, some_task_running, wait_until_settled
from tests.ports import free_port
from tests.waiting import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.faults]

# Recovery in seconds rather than minutes, so each fault heals within the test.
FAST_RECOVERY = {
    "FUNCTION_TIMEOUT_SECONDS": "2",
    "CLAIM_LEASE_MARGIN_SECONDS": "2",
    "RECOVERY_INTERVAL_SECONDS": "1",
    "ORPHAN_AFTER_SECONDS": "5",
    "OUTBOX_IDLE_WAIT_SECONDS": "1",
    "LOG_LEVEL": "WARNING",
}
VISIBILITY_TIMEOUT = 12  # six times the function timeout, as AWS advises
SETTLE_SECONDS = 180


def kill(stack: Stack, name: str) -> None:
    """SIGKILL a process and everything it started (the mapping's Lambda environments, say)."""
    process = stack.group.processes.pop(name)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def restart(stack: Stack, name: str) -> None:
    stack.group.start(name, stack.commands[name], stack.env)


def sqs_of(stack: Stack):
    return boto3.client("sqs", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name=REGION)


QUEUE = {"VisibilityTimeout": str(VISIBILITY_TIMEOUT)}


def provision(stack: Stack) -> None:
    """The stack's queue, created again (an emulator restarts empty) with QUEUE's visibility timeout from the start:
    the consumer polls as soon as the queue exists."""
    provision_queues(
        stack.env["AWS_ENDPOINT_URL"], REGION, stack.env["QUEUE_NAME"], visibility_timeout_seconds=VISIBILITY_TIMEOUT
    )


@contextmanager
def running_stack(server_url: str, endpoint: str, log_path: Path, **commands: list[str]) -> Iterator[Stack]:
    """The e2e stack (API, relay, event source mapping), with fast recovery settings and commands replaced."""
    with e2e_stack(server_url, endpoint, log_path, FAST_RECOVERY, commands=commands, queue_attributes=QUEUE) as stack:
        yield stack


def in_background(function: Callable, *args) -> Future:
    executor = ThreadPoolExecutor(1)
    future = executor.submit(function, *args)
    executor.shutdown(wait=False)
    return future


def creating(stack: Stack) -> Future:
    return in_background(create_tasks, stack.base_url, stack.headers, TASKS)


@dataclass
class Watch:
    """A process kept running: how often it was restarted, and the event that ends the watch."""

    stop: threading.Event = field(default_factory=threading.Event)
    restarts: int = 0


def keep_running(stack: Stack, name: str) -> Watch:
    """Restart `name` whenever it dies, until the returned watch is stopped."""
    watch = Watch()

    def restart_when_dead() -> None:
        while not watch.stop.wait(0.2):
            if stack.group.processes[name].poll() is not None:
                restart(stack, name)
                watch.restarts += 1

    threading.Thread(target=restart_when_dead, daemon=True).start()
    return watch


def assert_every_task_finished_once(fault: str, stack: Stack, task_ids: list[str], cancelled: int = 0) -> Account:
    result = wait_until_settled(stack.env["DATABASE_URL"], task_ids, SETTLE_SECONDS)
    report(fault, result)
    assert (result.run, result.cancelled, result.lost, result.duplicated) == (
        len(task_ids) - cancelled,
        cancelled,
        0,
        0,
    )
    return result


def test_the_consumer_killed_mid_batch_again_and_again(postgres_server_url, sqs_endpoint, tmp_path):
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "stack.log") as stack:
        created = creating(stack)
        slow: list[str] = []  # a word_stats task runs for milliseconds: each kill waits for a task of a second
        for _ in range(4):
            slow.append(create_slow_task(stack))
            wait_until(lambda: is_running(stack.env["DATABASE_URL"], slow[-1]), 60, "a consumer running a slow task")
            kill(stack, "esm")
            restart(stack, "esm")
        every = created.result() + slow
        result = assert_every_task_finished_once("consumer SIGKILLed mid-batch 4 times", stack, every)
        assert result.recovered >= 4, "a killed consumer's task was not taken over or requeued"


def create_slow_task(stack: Stack) -> str:
    """A task that runs for a second, so that a kill while it runs lands mid-run."""
    body = {"type": "report", "payload": {"title": "killed while running", "seconds": 1}}
    return httpx.post(f"{stack.base_url}/tasks", json=body, headers=stack.headers).raise_for_status().json()["id"]


def is_running(database_url: str, task_id: str) -> bool:
    with psycopg.connect(libpq_url(database_url)) as connection:
        return connection.execute("SELECT status = 'running' FROM tasks WHERE id = %s", (task_id,)).fetchone()[0]


def test_the_relay_killed_between_sending_and_marking_sent(postgres_server_url, sqs_endpoint, tmp_path):
    faulty_relay = [sys.executable, "-m", "tests.e2e.faulty_relay"]
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "stack.log", relay=faulty_relay) as stack:
        created = creating(stack)
        watching = keep_running(stack, "relay")
        assert_every_task_finished_once("relay SIGKILLed after SendMessageBatch", stack, created.result())
        watching.stop.set()
        assert watching.restarts > 0, "the relay died at least once, so some messages were sent twice"


def kill_now_and_then(stack: Stack, name: str, seconds: tuple[float, float]) -> threading.Event:
    """SIGKILL `name` at random moments, `seconds` apart, until the returned event is set (a watch restarts it)."""
    stop = threading.Event()

    def killer() -> None:
        while not stop.wait(random.uniform(*seconds)):
            process = stack.group.processes.get(name)
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)

    threading.Thread(target=killer, daemon=True).start()
    return stop


SCHEDULE_SECONDS = 20
DELAYED_TASKS = TASKS // 4


def test_the_relay_killed_while_delayed_tasks_and_a_schedule_come_due(postgres_server_url, sqs_endpoint, tmp_path):
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "stack.log") as stack:
        with httpx.Client(base_url=stack.base_url, headers=stack.headers) as client:
            body = {"type": "word_stats", "payload": {"text": "tick"}, "interval_seconds": 1}
            schedule = client.post("/schedules", json=body).raise_for_status().json()
            delayed = in_background(create_tasks, stack.base_url, stack.headers, DELAYED_TASKS, 8, 5)
            watching = keep_running(stack, "relay")
            killing = kill_now_and_then(stack, "relay", (1.0, 3.0))
            wait_until(lambda: len(occurrences(stack, schedule["id"])) >= SCHEDULE_SECONDS, SCHEDULE_SECONDS + 60,
                       f"{SCHEDULE_SECONDS} occurrences fired")  # fmt: skip
            client.post(f"/schedules/{schedule['id']}/pause").raise_for_status()
            task_ids = delayed.result()
        killing.set()  # the watch still restarts a relay killed last: the rest must settle with one running
        assert_every_task_finished_once("relay SIGKILLed at random, delayed tasks due", stack, task_ids)
        watching.stop.set()
        fired = occurrences(stack, schedule["id"])
        assert watching.restarts > 0
        gaps = {(later - earlier).total_seconds() for (earlier, _), (later, _) in pairwise(fired)}
        assert gaps == {1.0}, f"an occurrence was skipped or doubled: {sorted(gaps)}"
        assert_every_task_finished_once("relay SIGKILLed at random, schedule firing", stack, [i for _, i in fired])


def occurrences(stack: Stack, schedule_id: str) -> list[tuple]:
    """The schedule's tasks so far, as (occurrence time, task id), in time order."""
    with psycopg.connect(libpq_url(stack.env["DATABASE_URL"])) as connection:
        query = "SELECT occurrence_at, id::text FROM tasks WHERE schedule_id = %s ORDER BY occurrence_at"
        return connection.execute(query, (schedule_id,)).fetchall()


def test_postgresql_restarted_during_the_run(sqs_endpoint, tmp_path, private_dir):
    server = EmbeddedPostgres(private_dir / "postgres")
    try:
        with running_stack(server.start(), sqs_endpoint, tmp_path / "stack.log") as stack:
            created = creating(stack)
            for _ in range(2):
                wait_until(lambda: some_task_running(stack.env["DATABASE_URL"]), 30, "tasks flowing")
                server.restart()
            assert_every_task_finished_once("PostgreSQL restarted twice", stack, created.result())
            assert "lost the listening connection" in (tmp_path / "stack.log").read_text()
    finally:
        server.stop()


def test_the_sqs_endpoint_restarted_and_lost_its_messages(postgres_server_url, tmp_path):
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    with open(tmp_path / "localstack.log", "w") as localstack_log:
        localstack = start_localstack(port, tmp_path / "sqs", localstack_log)
        try:
            with running_stack(postgres_server_url, endpoint, tmp_path / "stack.log") as stack:
                created = creating(stack)
                wait_until(lambda: some_task_running(stack.env["DATABASE_URL"]), 30, "tasks flowing")
                os.killpg(localstack.pid, signal.SIGKILL)
                localstack.wait()
                localstack = start_localstack(port, tmp_path / "sqs", localstack_log)
                provision(stack)  # an emulator restarts empty: queues and messages are gone
                assert_every_task_finished_once("SQS endpoint restarted, messages lost", stack, created.result())
                assert "republished a queued task whose message was lost" in (tmp_path / "stack.log").read_text()
        finally:
            os.killpg(localstack.pid, signal.SIGKILL)


def test_five_percent_poison_of_each_kind(postgres_server_url, sqs_endpoint, tmp_path):
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "stack.log") as stack:
        stack.group.stop("esm")  # messages pile up first, so the poison sits among them
        task_ids = create_tasks(stack.base_url, stack.headers, TASKS)
        share = TASKS // 20
        with httpx.Client(base_url=stack.base_url, headers=stack.headers) as client:
            cancelled = task_ids[:share]
            for task_id in cancelled:
                assert client.post(f"/tasks/{task_id}/cancel").status_code == 200
        stale = [TaskMessage(task_id=t, version=0, correlation_id="stale").to_body() for t in task_ids[-share:]]
        unknown = [TaskMessage(task_id=uuid.uuid4(), version=1, correlation_id="gone").to_body() for _ in range(share)]
        malformed = [f'{{"not": "a task message {i}"' for i in range(share)]
        sqs, url = sqs_of(stack), stack.queue_url
        for start in range(0, 3 * share, 10):
            batch = (stale + unknown + malformed)[start : start + 10]
            sqs.send_message_batch(
                QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(batch)]
            )
        restart(stack, "esm")
        assert_every_task_finished_once("5% poison of each kind", stack, task_ids, cancelled=share)
        dead = wait_until(lambda: recorded_dead_letters(stack, expected=share), 60, "the dead letters recorded")
        assert sorted(dead) == sorted(malformed), "malformed bodies, and only they, end as dead letters"
        logs = (tmp_path / "stack.log").read_text()
        assert logs.count('"outcome":"stale"') == logs.count('"outcome":"unknown-task"') == share


def recorded_dead_letters(stack: Stack, expected: int) -> list[str] | None:
    """The bodies the relay moved from the dead-letter queue into the database, once there are `expected`."""
    with psycopg.connect(libpq_url(stack.env["DATABASE_URL"])) as connection:
        bodies = [body for (body,) in connection.execute("SELECT body FROM dead_letters")]
    return bodies if len(bodies) >= expected else None
