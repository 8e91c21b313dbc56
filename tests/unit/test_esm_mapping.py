"""The event source mapping's poll loop against moto's in-process SQS: what it invokes, deletes and leaves."""

import threading

import boto3
import pytest
from moto import mock_aws

from esm.__main__ import run_together
from esm.config import InvalidConfiguration, MappingConfig
from esm.mapping import EventSourceMapping
from taskflow.sqs import QueueCounts, queue_counts
from tests.running_mapping import run_until

EMPTY = QueueCounts(visible=0, in_flight=0, delayed=0)


class RecordingInvoker:
    """Returns a partial batch response failing the message bodies in `fail`, or raises when `crash` is set."""

    def __init__(self, fail: set[str] = frozenset(), crash: bool = False) -> None:
        self.fail, self.crash = fail, crash
        self.events: list[dict] = []

    def invoke(self, event: dict) -> object:
        self.events.append(event)
        if self.crash:
            raise RuntimeError("the function crashed")
        failed = [record["messageId"] for record in event["Records"] if record["body"] in self.fail]
        return {"batchItemFailures": [{"itemIdentifier": message_id} for message_id in failed]}

    def bodies(self) -> list[str]:
        return [record["body"] for event in self.events for record in event["Records"]]


class RecordingClient:
    """The SQS client, with the size asked of each ReceiveMessage call written down."""

    def __init__(self, client) -> None:
        self.client = client
        self.receives: list[int] = []

    def receive_message(self, **request):
        self.receives.append(request["MaxNumberOfMessages"])
        return self.client.receive_message(**request)

    def __getattr__(self, name: str):
        return getattr(self.client, name)


@pytest.fixture
def sqs():
    with mock_aws():
        client = boto3.client("sqs", region_name="eu-west-1", aws_access_key_id="x", aws_secret_access_key="x")
        yield RecordingClient(client)


def new_queue(sqs, *bodies: str, fifo: bool = False, visibility: int = 180) -> str:
    name, attributes = "tasks", {"VisibilityTimeout": str(visibility)}
    if fifo:
        name, attributes = "tasks.fifo", {**attributes, "FifoQueue": "true", "ContentBasedDeduplication": "true"}
    url = sqs.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    for body in bodies:
        group = {"MessageGroupId": body[0]} if fifo else {}
        sqs.send_message(QueueUrl=url, MessageBody=body, **group)
    return url


def mapping(sqs, url: str, invoker, **settings) -> EventSourceMapping:
    return EventSourceMapping(sqs, url, lambda: invoker, MappingConfig(**settings), poll_wait_seconds=0)


def test_given_a_batch_when_the_function_succeeds_then_every_message_is_deleted(sqs):
    url = new_queue(sqs, "m0", "m1", "m2")
    invoker = RecordingInvoker()
    run_until(mapping(sqs, url, invoker), lambda: queue_counts(sqs, url) == EMPTY, "every message deleted")
    assert sorted(invoker.bodies()) == ["m0", "m1", "m2"]
    record = invoker.events[0]["Records"][0]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    assert (record["eventSourceARN"], record["awsRegion"]) == (arn, "eu-west-1")


def test_given_reported_failures_then_only_the_successes_are_deleted_and_failures_stay_in_flight(sqs):
    url = new_queue(sqs, "m0", "m1", "m2", "m3")
    invoker = RecordingInvoker(fail={"m1", "m3"})
    settled = QueueCounts(visible=0, in_flight=2, delayed=0)
    run_until(mapping(sqs, url, invoker), lambda: queue_counts(sqs, url) == settled, "the successes deleted")
    assert sorted(invoker.bodies()) == ["m0", "m1", "m2", "m3"], "each ran once: the failures wait out their timeout"


def test_given_the_invocation_raises_then_nothing_is_deleted(sqs):
    url = new_queue(sqs, "m0", "m1")
    invoker = RecordingInvoker(crash=True)
    run_until(mapping(sqs, url, invoker), lambda: invoker.events, "an invocation")
    assert queue_counts(sqs, url).in_flight == 2


def test_batch_size_above_ten_fills_from_several_receives_within_the_batching_window(sqs):
    url = new_queue(sqs, *(f"m{i}" for i in range(25)))
    invoker = RecordingInvoker()
    window = mapping(sqs, url, invoker, batch_size=25, maximum_batching_window_in_seconds=1)
    run_until(window, lambda: queue_counts(sqs, url) == EMPTY, "every message deleted")
    assert [len(event["Records"]) for event in invoker.events] == [25], "one invocation of the 25"
    assert sqs.receives[:3] == [10, 10, 5]


def test_without_a_batching_window_the_function_gets_what_one_receive_returned(sqs):
    url = new_queue(sqs, *(f"m{i}" for i in range(8)))
    invoker = RecordingInvoker()
    run_until(mapping(sqs, url, invoker, batch_size=10), lambda: invoker.events, "an invocation")
    first = invoker.events[0]["Records"]
    assert 1 <= len(first) <= 8
    assert sqs.receives[0] == 10


def test_the_batching_window_stops_waiting_when_the_queue_runs_dry(sqs):
    url = new_queue(sqs, "m0", "m1")
    invoker = RecordingInvoker()
    window = mapping(sqs, url, invoker, batch_size=10, maximum_batching_window_in_seconds=1)
    run_until(window, lambda: invoker.events, "an invocation")
    assert [len(event["Records"]) for event in invoker.events] == [2]


def test_an_empty_queue_invokes_nothing(sqs):
    url = new_queue(sqs)
    invoker = RecordingInvoker()
    run_until(mapping(sqs, url, invoker), lambda: len(sqs.receives) >= 3, "three polls")
    assert invoker.events == []


def test_fifo_once_a_message_fails_the_rest_of_its_group_in_the_batch_fails_too(sqs):
    url = new_queue(sqs, "a1", "b1", "a2", "b2", "a3", fifo=True)
    invoker = RecordingInvoker(fail={"a2"})
    settled = QueueCounts(visible=0, in_flight=2, delayed=0)
    run_until(mapping(sqs, url, invoker), lambda: queue_counts(sqs, url) == settled, "a1, b1, b2 deleted")
    assert invoker.bodies() == ["a1", "b1", "a2", "b2", "a3"], "one batch, in order"


def test_without_report_batch_item_failures_the_response_is_ignored(sqs):
    url = new_queue(sqs, "m0", "m1")
    invoker = RecordingInvoker(fail={"m1"})
    ignoring = mapping(sqs, url, invoker, function_response_types=())
    run_until(ignoring, lambda: queue_counts(sqs, url) == EMPTY, "both deleted, the reported failure too")


def test_a_configuration_aws_refuses_is_refused_before_polling(sqs):
    url = new_queue(sqs, visibility=30)
    with pytest.raises(InvalidConfiguration, match="less than Function timeout: 60 seconds"):
        mapping(sqs, url, RecordingInvoker(), function_timeout_seconds=60)


def test_warm_environments_start_before_the_first_message_and_are_the_ones_invoked(sqs):
    url = new_queue(sqs)
    started = []

    def new_environment():
        started.append(RecordingInvoker())
        return started[-1]

    warm = EventSourceMapping(sqs, url, new_environment, MappingConfig(maximum_concurrency=3), poll_wait_seconds=0,
                              warm_environments=2)  # fmt: skip
    assert len(started) == 2, "started with the mapping, before any message"
    sqs.send_message(QueueUrl=url, MessageBody="m0")
    run_until(warm, lambda: queue_counts(sqs, url) == EMPTY, "the message handled")
    assert len(started) == 2 and sum(len(e.events) for e in started) == 1, "a warm environment ran it"


def test_an_idle_environment_that_died_is_replaced_not_invoked(sqs):
    url = new_queue(sqs)
    dead = RecordingInvoker()
    dead.alive = False  # killed while it waited (SIGTERM, the OOM killer)
    made = iter([dead, RecordingInvoker()])
    started = []

    def new_environment():
        started.append(next(made))
        return started[-1]

    mapping = EventSourceMapping(sqs, url, new_environment, MappingConfig(), poll_wait_seconds=0, warm_environments=1)
    sqs.send_message(QueueUrl=url, MessageBody="m0")
    run_until(mapping, lambda: queue_counts(sqs, url) == EMPTY, "the message handled")
    assert dead.events == [] and len(started[1].events) == 1


class CrashingMapping:
    """A mapping whose poll loop raises, beside one that runs until stopped."""

    def __init__(self, crash: bool) -> None:
        self.crash, self.stopping, self.queue_url = crash, threading.Event(), "q"

    def run(self) -> None:
        if self.crash:
            raise RuntimeError("the poll loop broke")
        self.stopping.wait(30)

    def stop(self, *_: object) -> None:
        self.stopping.set()


def test_when_one_mapping_crashes_the_other_stops_and_the_process_exits_1():
    steady, crashing = CrashingMapping(crash=False), CrashingMapping(crash=True)
    assert run_together([steady, crashing]) == 1
    assert steady.stopping.is_set()
    stopped = CrashingMapping(crash=False)
    stopped.stop()
    assert run_together([stopped]) == 0, "stopped, not crashed"
