"""The local event source mapping against a real SQS endpoint: what it deletes and what comes back."""

import threading
import time

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
    mapping = EventSourceMapping(sqs_client, queue.url, function, batch_size=10, maximum_batching_window_in_seconds=1)
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

    run_until(EventSourceMapping(sqs_client, queue.url, Recorder()), 1)
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
    mapping = EventSourceMapping(sqs_client, queue.url, function, poll_wait_seconds=1)
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
    mapping = EventSourceMapping(sqs_client, queue.url, SlowFunction(), batch_size=5, poll_wait_seconds=1)
    thread = threading.Thread(target=mapping.run)
    thread.start()
    assert invoked.wait(10)
    time.sleep(1)  # the second batch of five is prefetched while the function runs
    mapping.stop()
    release_function.set()
    thread.join(10)
    # The five being processed were deleted; the five prefetched are visible again, not hidden for 180 s.
    assert queue_counts(sqs_client, queue.url) == (5, 0)
