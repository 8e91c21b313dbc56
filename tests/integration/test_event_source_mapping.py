"""The local event source mapping against a real SQS endpoint: what it deletes and what comes back."""

import threading
import time

from esm.config import MappingConfig
from esm.environments import ProcessEnvironment
from esm.mapping import EventSourceMapping


class FailingFor:
    """A function that reports the records whose body is in `bad` as failed."""

    def __init__(self, *bad: str) -> None:
        self.bad = set(bad)
        self.bodies: list[str] = []

    def invoke(self, event):
        self.bodies.extend(r["body"] for r in event["Records"])
        return {
            "batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in event["Records"] if r["body"] in self.bad]
        }


def send(sqs_client, url: str, *bodies: str) -> None:
    sqs_client.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
    )


def run_until(mapping: EventSourceMapping, count: int, timeout: float = 10) -> None:
    handled, deadline = 0, time.monotonic() + timeout
    while handled < count and time.monotonic() < deadline:
        handled += mapping.poll_once()


def test_failed_records_come_back_after_the_visibility_timeout_and_successes_do_not(sqs_client, queue):
    sqs_client.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": "1"})
    send(sqs_client, queue.url, "ok-1", "bad", "ok-2")
    function = FailingFor("bad")
    mapping = EventSourceMapping(
        sqs_client,
        queue.url,
        lambda: function,
        MappingConfig(batch_size=10, maximum_batching_window_in_seconds=1, function_timeout_seconds=1),
    )
    run_until(mapping, 3)
    assert sorted(function.bodies) == ["bad", "ok-1", "ok-2"]
    function.bad.clear()
    run_until(mapping, 1, timeout=15)
    assert sorted(function.bodies) == ["bad", "bad", "ok-1", "ok-2"]
    attributes = sqs_client.get_queue_attributes(
        QueueUrl=queue.url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    assert attributes["Attributes"] == {
        "ApproximateNumberOfMessages": "0",
        "ApproximateNumberOfMessagesNotVisible": "0",
    }


def test_records_carry_the_real_receive_count_and_queue_arn(sqs_client, queue):
    send(sqs_client, queue.url, "one")
    seen = []

    class Recorder:
        def invoke(self, event):
            seen.extend(event["Records"])

    run_until(EventSourceMapping(sqs_client, queue.url, Recorder), 1)
    [record] = seen
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["eventSourceARN"].endswith(f":{queue.name}")
    assert record["eventSource"] == "aws:sqs"


def queue_counts(sqs_client, url: str) -> tuple[int, int]:
    attributes = sqs_client.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])


def test_the_running_mapping_handles_and_deletes_everything(sqs_client, queue):
    for start in range(0, 30, 10):
        send(sqs_client, queue.url, *(f"m{i}" for i in range(start, start + 10)))
    function = FailingFor()
    mapping = EventSourceMapping(sqs_client, queue.url, lambda: function, poll_wait_seconds=1)
    thread = threading.Thread(target=mapping.run)
    thread.start()
    try:
        deadline = time.monotonic() + 15
        while (
            len(function.bodies) < 30 or queue_counts(sqs_client, queue.url) != (0, 0)
        ) and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        mapping.stop()
        thread.join(10)
    assert sorted(function.bodies) == sorted(f"m{i}" for i in range(30))
    assert queue_counts(sqs_client, queue.url) == (0, 0)


def test_stopping_hands_prefetched_messages_back_at_once(sqs_client, queue):
    release_function = threading.Event()
    invoked = threading.Event()

    class SlowFunction:
        def invoke(self, event):
            invoked.set()
            release_function.wait(10)

    send(sqs_client, queue.url, *(f"m{i}" for i in range(10)))
    send(sqs_client, queue.url, *(f"n{i}" for i in range(5)))
    mapping = EventSourceMapping(sqs_client, queue.url, SlowFunction, MappingConfig(batch_size=5), poll_wait_seconds=1)
    thread = threading.Thread(target=mapping.run)
    thread.start()
    assert invoked.wait(10)
    time.sleep(1)  # two batches run (MaximumConcurrency 2); the third is prefetched, waiting for a free slot
    mapping.stop()
    release_function.set()
    thread.join(10)
    # The ten being processed were deleted; the five prefetched are visible again, not hidden for 180 s.
    assert queue_counts(sqs_client, queue.url) == (5, 0)


def test_no_more_invocations_run_at_once_than_maximum_concurrency(sqs_client, queue):
    send(sqs_client, queue.url, *(f"m{i}" for i in range(10)))
    send(sqs_client, queue.url, *(f"n{i}" for i in range(10)))
    lock, active, peak, bodies = threading.Lock(), [0], [0], []

    class Overlapping:
        def invoke(self, event):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            time.sleep(0.5)
            with lock:
                active[0] -= 1
                bodies.extend(r["body"] for r in event["Records"])

    config = MappingConfig(batch_size=2, maximum_concurrency=3)
    mapping = EventSourceMapping(sqs_client, queue.url, Overlapping, config, poll_wait_seconds=1)
    thread = threading.Thread(target=mapping.run)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while len(bodies) < 20 and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        mapping.stop()
        thread.join(10)
    assert len(bodies) == 20
    assert peak[0] == 3


HANDLER = """
import os, time

def handler(event, context):
    for record in event["Records"]:
        if record["body"] == "slow":
            time.sleep(30)
    return {"batchItemFailures": [], "pid": os.getpid()}
"""


def test_an_invocation_that_overruns_the_function_timeout_is_killed_and_its_batch_returns(sqs_client, queue, tmp_path):
    (tmp_path / "slow_handler.py").write_text(HANDLER)
    environments = []

    def new_environment():
        environments.append(ProcessEnvironment(tmp_path, "slow_handler.handler", function_name="t", timeout_seconds=3))
        return environments[-1]

    config = MappingConfig(batch_size=1, function_timeout_seconds=3)
    mapping = EventSourceMapping(sqs_client, queue.url, new_environment, config, poll_wait_seconds=1)
    try:
        send(sqs_client, queue.url, "slow")
        run_until(mapping, 1)
        assert not environments[0].alive, "the overrunning environment was killed"
        assert queue_counts(sqs_client, queue.url) == (0, 1), "not deleted: back after the visibility timeout"
        send(sqs_client, queue.url, "fast")
        run_until(mapping, 1)
        assert len(environments) == 2 and environments[1].alive
        assert queue_counts(sqs_client, queue.url) == (0, 1), "the fast one ran in a fresh environment and was deleted"
    finally:
        mapping._close_environments()


def test_on_a_fifo_queue_a_failure_holds_back_the_rest_of_its_group(sqs_client):
    url = sqs_client.create_queue(
        QueueName=f"fifo-{time.time_ns()}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    try:
        for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a")]:
            sqs_client.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
        function = FailingFor("a2")
        run_until(EventSourceMapping(sqs_client, url, lambda: function, MappingConfig(batch_size=10)), 4)
        assert sorted(function.bodies) == ["a1", "a2", "a3", "b1"]
        assert [body for body in function.bodies if body.startswith("a")] == ["a1", "a2", "a3"], "in group order"
        assert queue_counts(sqs_client, url) == (0, 2), (
            "a2 and a3 both wait for redelivery: a3 was not deleted ahead of a2"
        )
    finally:
        sqs_client.delete_queue(QueueUrl=url)
