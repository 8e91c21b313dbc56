"""Transient failures: the task goes back to queued and its message returns after a backoff, a few times."""

import uuid
from collections import Counter

import pytest
from pydantic import BaseModel

from esm.events import sqs_event
from taskflow.domain.errors import TransientTaskError
from taskflow.domain.retry import RetryPolicy
from taskflow.task_types import TaskContext, task_type
from tests.integration.lambda_events import body_of, event_for, failures

RUNS: Counter = Counter()


class Flaky(BaseModel):
    token: str
    fail_times: int


def flaky(payload: Flaky, context: TaskContext) -> dict:
    RUNS[payload.token] += 1
    if RUNS[payload.token] <= payload.fail_times:
        raise TransientTaskError(f"the downstream service is down (run {RUNS[payload.token]})")
    return {"runs": RUNS[payload.token]}


task_type("test_flaky", Flaky, retry=RetryPolicy(max_attempts=3, base_delay_seconds=1, max_delay_seconds=1))(flaky)


class Timeout(BaseModel):
    pass


def always_times_out(payload: Timeout, context: TaskContext) -> dict:
    raise TimeoutError("the remote call timed out")


task_type("test_timeout", Timeout, retry=RetryPolicy(max_attempts=2, base_delay_seconds=1, max_delay_seconds=1))(
    always_times_out
)


@pytest.fixture
def deliver(sqs_client, queue, handler):
    """Send a task's message through the real queue, receive it, and invoke the handler with it."""

    def receive_and_invoke(wait_seconds: int = 5) -> tuple[dict, dict]:
        received = sqs_client.receive_message(
            QueueUrl=queue.url, MaxNumberOfMessages=1, WaitTimeSeconds=wait_seconds, AttributeNames=["All"]
        ).get("Messages", [])
        assert received, "no message came back"
        event = sqs_event(received, f"arn:aws:sqs:us-east-1:000000000000:{queue.name}", "us-east-1")
        return event, handler.invoke(event)

    return receive_and_invoke


def test_a_transient_failure_is_retried_after_a_backoff(sqs_client, queue, new_task, read, deliver):
    task = new_task("test_flaky", {"token": uuid.uuid4().hex, "fail_times": 1})
    sqs_client.send_message(QueueUrl=queue.url, MessageBody=body_of(task))

    event, response = deliver()
    assert failures(response) == [event["Records"][0]["messageId"]], "left for SQS to deliver again"
    waiting = read.task(task.id)
    assert (waiting.status, waiting.attempts) == ("queued", 1)
    assert "downstream service is down" in waiting.error
    retry_event = read.events(task.id)[-1]
    assert (retry_event.from_status, retry_event.to_status) == ("running", "queued")
    assert retry_event.detail["retry_in_seconds"] == 1
    assert sqs_client.receive_message(QueueUrl=queue.url, WaitTimeSeconds=0).get("Messages") is None, "postponed"

    event, response = deliver()  # the receive waits out the one-second backoff
    assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == "2"
    assert failures(response) == []
    done = read.task(task.id)
    assert (done.status, done.attempts, done.result) == ("succeeded", 2, {"runs": 2})


def test_it_gives_up_after_the_policys_attempts(sqs_client, queue, new_task, read, deliver):
    task = new_task("test_timeout", {})
    sqs_client.send_message(QueueUrl=queue.url, MessageBody=body_of(task))
    _, first = deliver()
    assert len(failures(first)) == 1
    _, second = deliver()
    assert failures(second) == [], "a task that gave up is acknowledged"
    failed = read.task(task.id)
    assert (failed.status, failed.attempts) == ("failed", 2)
    assert failed.error == "gave up after 2 attempts: TimeoutError: the remote call timed out"


def test_an_unexpected_error_is_permanent(handler, api_create_task, read):
    class Nothing(BaseModel):
        pass

    def broken(payload: Nothing, context: TaskContext) -> dict:
        raise KeyError("a bug")

    task_type("test_broken", Nothing)(broken)
    task = api_create_task(task_type="test_broken", payload={}, correlation_id="bug")
    assert failures(handler.invoke(event_for(body_of(task)))) == []
    stored = read.task(task.id)
    assert (stored.status, stored.attempts, stored.error) == ("failed", 1, "KeyError: 'a bug'")


def test_a_malformed_message_goes_straight_back_and_reaches_the_dead_letter_queue(sqs_client, queue, deliver):
    sqs_client.send_message(QueueUrl=queue.url, MessageBody="{not json")
    for receive in range(1, 6):  # the queue's maxReceiveCount
        event, response = deliver(wait_seconds=1)
        assert event["Records"][0]["attributes"]["ApproximateReceiveCount"] == str(receive)
        assert failures(response) == [event["Records"][0]["messageId"]]
    # SQS moves a message to the dead-letter queue when a receive would exceed maxReceiveCount.
    assert sqs_client.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1).get("Messages") is None
    dead = sqs_client.receive_message(QueueUrl=queue.dlq_url, WaitTimeSeconds=2).get("Messages", [])
    assert [m["Body"] for m in dead] == ["{not json"]
