"""Work is bounded by the invocation's time: a record starts only while its type's budget fits in what is left,
and a function still running when the time is up is interrupted, so nothing dies with the invocation."""

import time

import pytest
from pydantic import BaseModel

from esm.events import sqs_event
from esm.invokers import LocalLambdaContext
from taskflow.domain.messages import TaskMessage
from taskflow.domain.retry import RetryPolicy
from taskflow.task_types import TaskContext, task_type
from tests.integration.lambda_events import body_of, failures


class Sleep(BaseModel):
    seconds: float


@task_type("test_sleeper", Sleep, retry=RetryPolicy(max_attempts=3), time_budget_seconds=0.5)
def sleeper(payload: Sleep, context: TaskContext) -> dict:
    time.sleep(payload.seconds)
    return {"slept": payload.seconds}


@pytest.fixture
def invoke(sqs_client, queue, handler):
    """Receive `count` messages from the test queue in one event and invoke the handler with `timeout` seconds."""

    def receive_and_invoke(count: int, timeout: int) -> tuple[dict, dict]:
        received: list[dict] = []
        while len(received) < count:
            received += sqs_client.receive_message(
                QueueUrl=queue.url, MaxNumberOfMessages=count - len(received), WaitTimeSeconds=2, AttributeNames=["All"]
            ).get("Messages", [])
        event = sqs_event(received, f"arn:aws:sqs:us-east-1:000000000000:{queue.name}", "us-east-1")
        return event, handler.function(event, LocalLambdaContext("test", timeout))

    return receive_and_invoke


def send(sqs_client, queue, *tasks) -> None:
    for task in tasks:
        sqs_client.send_message(QueueUrl=queue.url, MessageBody=body_of(task))


def task_of(record: dict):
    return TaskMessage.from_body(record["body"]).task_id


def ids_of(event: dict, *positions: int) -> list[str]:
    return [event["Records"][p]["messageId"] for p in positions]


def test_a_record_whose_budget_no_longer_fits_is_handed_back_unclaimed_and_returns_at_once(
    sqs_client, queue, new_task, read, invoke
):
    tasks = {t.id: t for t in (new_task("test_sleeper", {"seconds": 0.1}), new_task("test_sleeper", {"seconds": 0.1}))}
    send(sqs_client, queue, *tasks.values())
    event, response = invoke(2, timeout=1)  # 0.5 s usable: after the first record, less than a 0.5 s budget
    ran, waiting = (tasks[task_of(record)] for record in event["Records"])
    assert failures(response) == ids_of(event, 1)
    assert read.task(ran.id).status == "succeeded"
    assert (read.task(waiting.id).status, read.task(waiting.id).attempts) == ("pending", 0), "never claimed"
    back = sqs_client.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1).get("Messages", [])
    assert [m["Body"] for m in back] == [body_of(waiting)], "visible again at once, not after the visibility timeout"


def test_a_function_still_running_when_the_time_is_up_is_interrupted_and_retried(
    sqs_client, queue, new_task, read, invoke
):
    stuck = new_task("test_sleeper", {"seconds": 60})
    send(sqs_client, queue, stuck)
    started = time.monotonic()
    event, response = invoke(1, timeout=2)
    assert time.monotonic() - started < 2, "the invocation answered before its timeout"
    assert failures(response) == ids_of(event, 0), "retried: SQS delivers it again after its backoff"
    interrupted = read.task(stuck.id)
    assert (interrupted.status, interrupted.attempts) == ("queued", 1)
    assert interrupted.error.startswith("TaskTimedOut: still running after 1.5s")
    assert read.events(stuck.id)[-1].detail["retry_in_seconds"] >= 1


def test_the_records_after_an_interrupted_one_are_handed_back_unclaimed(sqs_client, queue, new_task, read, invoke):
    stuck, after = new_task("test_sleeper", {"seconds": 60}), new_task("test_sleeper", {"seconds": 0})
    send(sqs_client, queue, stuck, after)
    event, response = invoke(2, timeout=2)
    first = task_of(event["Records"][0])
    if first == after.id:  # SQS does not keep order: the quick one ran first, the stuck one was still interrupted
        assert (read.task(after.id).status, failures(response)) == ("succeeded", ids_of(event, 1))
    else:
        assert sorted(failures(response)) == sorted(ids_of(event, 0, 1))
        assert (read.task(after.id).status, read.task(after.id).attempts) == ("pending", 0)
    assert read.task(stuck.id).status == "queued"
