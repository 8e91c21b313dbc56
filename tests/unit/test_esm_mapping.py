import pytest

from esm.config import InvalidConfiguration, MappingConfig
from esm.mapping import EventSourceMapping
from tests.unit.fake_sqs import FakeSqs


class RecordingInvoker:
    """Returns a partial batch response failing the message ids in `fail`, or raises when `crash` is set."""

    def __init__(self, fail: set[str] = frozenset(), crash: bool = False) -> None:
        self.fail, self.crash = fail, crash
        self.events: list[dict] = []

    def invoke(self, event: dict) -> object:
        self.events.append(event)
        if self.crash:
            raise RuntimeError("the function crashed")
        return {
            "batchItemFailures": [
                {"itemIdentifier": r["messageId"]} for r in event["Records"] if r["messageId"] in self.fail
            ]
        }


def mapping(sqs: FakeSqs, invoker, **settings) -> EventSourceMapping:
    return EventSourceMapping(sqs, "https://queue", lambda: invoker, MappingConfig(**settings))


def test_given_a_batch_when_the_function_succeeds_then_every_message_is_deleted():
    sqs = FakeSqs()
    for i in range(3):
        sqs.send(f"m{i}")
    invoker = RecordingInvoker()
    assert mapping(sqs, invoker).poll_once() == 3
    assert sorted(sqs.deleted) == ["m0", "m1", "m2"]
    assert invoker.events[0]["Records"][0]["eventSourceARN"] == "arn:aws:sqs:eu-west-1:000000000000:tasks"
    assert invoker.events[0]["Records"][0]["awsRegion"] == "eu-west-1"


def test_given_reported_failures_then_only_the_successes_are_deleted_and_failures_come_back():
    sqs = FakeSqs()
    for i in range(4):
        sqs.send(f"m{i}")
    mapping(sqs, RecordingInvoker(fail={"m1", "m3"})).poll_once()
    assert sorted(sqs.deleted) == ["m0", "m2"]
    sqs.requeue_in_flight()
    assert sorted(m["MessageId"] for m in sqs.visible) == ["m1", "m3"]


def test_given_the_invocation_raises_then_nothing_is_deleted():
    sqs = FakeSqs()
    sqs.send("m0")
    sqs.send("m1")
    mapping(sqs, RecordingInvoker(crash=True)).poll_once()
    assert sqs.deleted == []
    assert len(sqs.in_flight) == 2


def test_batch_size_above_ten_fills_from_several_receives_within_the_batching_window():
    sqs = FakeSqs()
    for i in range(25):
        sqs.send(f"m{i}")
    invoker = RecordingInvoker()
    handled = mapping(sqs, invoker, batch_size=25, maximum_batching_window_in_seconds=1).poll_once()
    assert handled == 25
    assert len(invoker.events) == 1 and len(invoker.events[0]["Records"]) == 25
    assert [call["max"] for call in sqs.receive_calls] == [10, 10, 5]
    assert len(sqs.deleted) == 25


def test_without_a_batching_window_the_function_gets_what_one_receive_returned():
    sqs = FakeSqs(receive_sizes=[3])
    for i in range(8):
        sqs.send(f"m{i}")
    invoker = RecordingInvoker()
    assert mapping(sqs, invoker, batch_size=10).poll_once() == 3
    assert len(sqs.receive_calls) == 1


def test_the_batching_window_stops_waiting_when_the_queue_runs_dry():
    sqs = FakeSqs(receive_sizes=[2, 0])
    sqs.send("m0")
    sqs.send("m1")
    invoker = RecordingInvoker()
    assert mapping(sqs, invoker, batch_size=10, maximum_batching_window_in_seconds=5).poll_once() == 2


def test_an_empty_queue_invokes_nothing():
    sqs = FakeSqs()
    invoker = RecordingInvoker()
    assert mapping(sqs, invoker).poll_once() == 0
    assert invoker.events == []


def test_fifo_once_a_message_fails_the_rest_of_its_group_in_the_batch_fails_too():
    sqs = FakeSqs(fifo=True)
    for message_id, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("b2", "b"), ("a3", "a")]:
        sqs.send(message_id, group=group)
    mapping(sqs, RecordingInvoker(fail={"a2"})).poll_once()
    assert sorted(sqs.deleted) == ["a1", "b1", "b2"], "a3 must not overtake a2"


def test_without_report_batch_item_failures_the_response_is_ignored():
    sqs = FakeSqs()
    sqs.send("m0")
    sqs.send("m1")
    mapping(sqs, RecordingInvoker(fail={"m1"}), function_response_types=()).poll_once()
    assert sorted(sqs.deleted) == ["m0", "m1"]


def test_a_configuration_aws_refuses_is_refused_before_polling():
    with pytest.raises(InvalidConfiguration, match="less than Function timeout: 60 seconds"):
        mapping(FakeSqs(visibility_timeout=30), RecordingInvoker(), function_timeout_seconds=60)
