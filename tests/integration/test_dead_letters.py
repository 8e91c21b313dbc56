"""Dead letters: peeking at them per tenant, and a redrive that queues their tasks again and moves them back."""

from datetime import timedelta

import pytest
from pydantic import BaseModel

from taskflow.domain.errors import MalformedMessage, TransientTaskError
from taskflow.domain.messages import TaskMessage
from taskflow.domain.retry import RetryPolicy
from taskflow.manage_dead_letters import main as manage_dead_letters
from taskflow.services.recovery import fail_dead_lettered
from taskflow.settings import get_settings
from taskflow.task_types import task_type
from tests.integration.lambda_events import body_of, event_for


class Nothing(BaseModel):
    pass


@task_type("test_downstream_down", Nothing, retry=RetryPolicy(max_attempts=5, base_delay_seconds=1))
def downstream_down(payload: Nothing) -> dict:
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
def dead_lettered(sessions, sqs_client, queue, new_task, handler, read):
    """A task of the test tenant that failed once, then had its message dead-lettered and was marked failed."""
    task = new_task("test_downstream_down", {})
    handler.invoke(event_for(body_of(task)))
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody=body_of(task))
    with sessions() as session:
        fail_dead_lettered(session=session, task_ids={task.id}, untouched_for=timedelta(0))
    return read.task(task.id)


def test_a_tenant_sees_its_dead_letters_with_their_failures_and_nobody_elses(
    client, app_for_other_tenant, sqs_client, queue, dead_lettered, read
):
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody="not a task message")
    [letter] = client.get("/dead-letters").json()
    events = read.events(dead_lettered.id)
    assert letter["task_id"] == str(dead_lettered.id)
    assert (letter["status"], letter["receive_count"], letter["task_type"]) == ("failed", 1, "test_downstream_down")
    assert letter["first_failure_at"] == events[1].created_at.isoformat().replace("+00:00", "Z")
    assert letter["last_failure_at"] == events[-1].created_at.isoformat().replace("+00:00", "Z")
    assert letter["last_error"] == "dead-lettered: its message failed too many deliveries"
    assert app_for_other_tenant.get("/dead-letters").json() == []
    assert len(messages_in(sqs_client, queue.dlq_url)) == 2, "peeking consumed nothing"


def test_a_redrive_queues_the_tenants_failed_tasks_again_and_moves_only_their_messages(
    client, app_for_other_tenant, sqs_client, queue, dead_lettered, read
):
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody="not a task message")
    assert app_for_other_tenant.post("/dead-letters/redrive").json() == {"task_ids": []}
    response = client.post("/dead-letters/redrive", json={"task_ids": [str(dead_lettered.id)]})
    assert response.status_code == 200
    assert response.json() == {"task_ids": [str(dead_lettered.id)]}
    queued = read.task(dead_lettered.id)
    assert (queued.status, queued.attempts, queued.error) == ("queued", 0, None)
    assert read.events(dead_lettered.id)[-1].detail["redrive"] is True
    assert [task_of(body) for body in messages_in(sqs_client, queue.url)] == [dead_lettered.id]
    assert messages_in(sqs_client, queue.dlq_url) == ["not a task message"]


def test_the_operator_command_lists_every_dead_letter_and_redrives_them_all(
    sqs_client, queue, database_url, sqs_endpoint, dead_lettered, read, capsys, monkeypatch
):
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody="not a task message")
    for name, value in {
        "DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL": sqs_endpoint,
        "QUEUE_NAME": queue.name,
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    try:
        manage_dead_letters(["list"])
        listing = capsys.readouterr().out
        assert str(dead_lettered.id) in listing and "(not a task message)" in listing
        manage_dead_letters(["redrive"])
        assert "1 tasks are queued again" in capsys.readouterr().out
    finally:
        get_settings.cache_clear()
    assert read.task(dead_lettered.id).status == "queued"
    assert sorted(map(task_of, messages_in(sqs_client, queue.url)), key=str) == sorted(
        [dead_lettered.id, None], key=str
    )
    assert messages_in(sqs_client, queue.dlq_url) == []


def test_the_sweep_leaves_a_task_a_redrive_just_queued_again(sessions, new_task, read):
    task = new_task()
    with sessions() as session:
        assert fail_dead_lettered(session=session, task_ids={task.id}, untouched_for=timedelta(minutes=1)) == []
    assert read.task(task.id).status == "pending"
