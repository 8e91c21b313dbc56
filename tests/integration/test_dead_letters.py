"""Dead letters: the relay's sweep moves them from the queue into rows, each tenant reads its own, a redrive
dispatches their tasks again through the outbox, an operator sees and handles them all."""

import uuid
from datetime import timedelta

import pytest
from click.testing import CliRunner
from pydantic import BaseModel
from sqlalchemy import func, select

from cli.main import taskflow
from relay.dead_letter_queue import DeadLetterQueue
from relay.sweep import Sweep
from taskflow.db.models import DeadLetter
from taskflow.domain.errors import MalformedMessage, TransientTaskError
from taskflow.domain.messages import TaskMessage
from taskflow.domain.retry import RetryPolicy
from taskflow.services.dead_letters import ReceivedLetter, record_dead_letters
from taskflow.sqs import queue_counts
from taskflow.task_types import TaskContext, task_type
from tests.integration.lambda_events import body_of, event_for


class Nothing(BaseModel):
    pass


@task_type("test_downstream_down", Nothing, retry=RetryPolicy(max_attempts=5, base_delay_seconds=1))
def downstream_down(payload: Nothing, context: TaskContext) -> dict:
    raise TransientTaskError("the downstream service is down")


def messages_in(sqs_client, url: str) -> list[str]:
    bodies = []
    while batch := sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=1).get("Messages"):
        bodies.extend(m["Body"] for m in batch)
    return bodies


def task_of(body: str):
    try:
        return TaskMessage.from_body(body).task_id
    except MalformedMessage:
        return None


@pytest.fixture
def sweep(sessions, sqs_client, queue):
    """Run the relay's sweep over the test queue's dead-letter queue now."""

    def run() -> None:
        Sweep(
            sessions=sessions,
            orphan_after=timedelta(hours=1),
            queue_is_empty=lambda: queue_counts(sqs_client, queue.url).is_empty,
            dead_letter_queues=[DeadLetterQueue(sqs_client, queue.dlq_url)],
            interval_seconds=60,
        ).run()

    return run


@pytest.fixture
def dead_lettered(sqs_client, queue, new_task, handler, read, sweep):
    """A task of the test tenant that failed once, then had its message dead-lettered, recorded by the sweep."""
    task = new_task("test_downstream_down", {})
    handler.invoke(event_for(body_of(task)))
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody=body_of(read.task(task.id)))
    sweep()
    return read.task(task.id)


def test_the_sweep_records_a_dead_letter_fails_its_task_and_empties_the_queue(
    client, sqs_client, queue, dead_lettered, read
):
    assert (dead_lettered.status, dead_lettered.error) == (
        "failed",
        "dead-lettered: its message failed 0 deliveries; last error: TransientTaskError: the downstream service "
        "is down",
    )
    assert read.events(dead_lettered.id)[-1].detail == {"reason": "dead-lettered", "error": dead_lettered.error}
    assert messages_in(sqs_client, queue.dlq_url) == [], "the queue is drained into the table"


def test_a_tenant_sees_its_dead_letters_with_their_failures_and_nobody_elses(
    client, app_for_other_tenant, sqs_client, queue, dead_lettered, read, sweep
):
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody="not a task message")
    sweep()
    page = client.get("/dead-letters", params={"limit": 1000}).json()
    [letter] = [item for item in page["items"] if item["task_id"] == str(dead_lettered.id)]
    events = read.events(dead_lettered.id)
    assert all(item["task_id"] for item in page["items"]), "a body naming no task is for operators only"
    assert (letter["status"], letter["task_type"]) == ("failed", "test_downstream_down")
    running = [e for e in events if e.to_status == "running"]
    assert letter["first_failure_at"] == running[0].created_at.isoformat().replace("+00:00", "Z")
    assert letter["last_error"] == "TransientTaskError: the downstream service is down"
    assert app_for_other_tenant.get("/dead-letters").json() == {"items": [], "next_before": None}
    for _ in range(3):
        assert client.get("/dead-letters", params={"limit": 1000}).json() == page, "reading hides nothing"


def test_dead_letters_page_newest_first(client, sqs_client, queue, new_task, sweep):
    tasks = [new_task() for _ in range(3)]
    for task in tasks:
        sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody=body_of(task))
        sweep()
    first = client.get("/dead-letters", params={"limit": 2}).json()
    second = client.get("/dead-letters", params={"limit": 2, "before": first["next_before"]}).json()
    listed = [letter["task_id"] for letter in first["items"] + second["items"]]
    assert listed[:3] == [str(task.id) for task in reversed(tasks)], "no gap, no repeat across the pages"

    beyond = client.get("/dead-letters", params={"before": 2**63})
    assert beyond.status_code == 422 and beyond.json()["errors"][0]["field"] == "query.before", "a schema error"


def test_a_letter_older_than_the_tasks_latest_dispatch_leaves_the_task_alone(sqs_client, queue, new_task, read, sweep):
    task = new_task()
    stale = TaskMessage(task_id=task.id, version=0, correlation_id="old").to_body()
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody=stale)
    sweep()
    assert read.task(task.id).status == "pending"


def test_a_letter_recorded_twice_after_a_crash_is_one_row(sessions, new_task):
    task = new_task()
    letter = ReceivedLetter(f"crash-{uuid.uuid4()}", body_of(task), 5, task.created_at)
    for _ in range(2):  # the sweep died after recording, before deleting: the message comes back
        with sessions() as session:
            record_dead_letters(session, [letter])
    with sessions() as session:
        count = session.scalar(select(func.count()).where(DeadLetter.message_id == letter.message_id))
    assert count == 1


def test_a_redrive_dispatches_the_tenants_failed_tasks_again_through_the_outbox(
    client, app_for_other_tenant, sqs_client, queue, dead_lettered, read, sweep
):
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody="not a task message")
    sweep()
    assert app_for_other_tenant.post("/dead-letters/redrive").json() == {"task_ids": []}
    assert read.task(dead_lettered.id).status == "failed", "another tenant's redrive touches nothing of ours"
    response = client.post("/dead-letters/redrive", json={"task_ids": [str(dead_lettered.id)]})
    assert response.status_code == 200
    assert response.json() == {"task_ids": [str(dead_lettered.id)]}
    queued = read.task(dead_lettered.id)
    assert (queued.status, queued.attempts, queued.error) == ("queued", 0, None)
    assert queued.dispatched_version == queued.version > dead_lettered.version, "a new version: old copies are stale"
    assert read.events(dead_lettered.id)[-1].detail["redrive"] is True
    assert TaskMessage.from_body(read.outbox(dead_lettered.id)[-1].body).version == queued.version
    letters = client.get("/dead-letters", params={"limit": 1000}).json()["items"]
    assert str(dead_lettered.id) not in {letter["task_id"] for letter in letters}, "the redriven letter is gone"


def test_the_operator_sees_every_letter_redrives_them_all_and_discards_poison(
    database_url, sqs_client, queue, dead_lettered, read, sweep
):
    poison_id = sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody="not a task message")["MessageId"]
    sweep()

    def operator(*args: str) -> str:
        result = CliRunner().invoke(taskflow, ["dead-letters", *args], env={"DATABASE_URL": database_url})
        assert result.exit_code == 0, result.output
        return result.output

    listing = operator("list", "--limit", "1000")
    assert str(dead_lettered.id) in listing and "(not a task message)" in listing
    assert "dispatched 1 tasks again" in operator("redrive", "--task", str(dead_lettered.id))
    poison = next(line for line in listing.splitlines() if poison_id in line)
    assert "(not a task message)" in poison
    assert "discarded 1 letters" in operator("discard", poison.split()[0].lstrip("#"))
    assert poison_id not in operator("list", "--limit", "1000")
    assert read.task(dead_lettered.id).status == "queued"
