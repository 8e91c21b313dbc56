"""The local event source mapping against a real SQS endpoint: what it deletes and what comes back."""

import contextlib
import json
import threading
import time

import httpx

from esm.config import MappingConfig
from esm.environments import ProcessEnvironment
from esm.invokers import HttpInvoker
from esm.mapping import EventSourceMapping
from taskflow.sqs import QueueCounts, queue_counts
from tests.running_mapping import run_until, running
from tests.waiting import wait_until


class FailingFor:
    """A function that reports the records whose body is in `bad` as failed on their first delivery only."""

    def __init__(self, *bad: str) -> None:
        self.bad = set(bad)
        self.bodies: list[str] = []

    def invoke(self, event):
        failed = [r for r in event["Records"] if r["body"] in self.bad]
        self.bad -= {r["body"] for r in failed}
        self.bodies.extend(r["body"] for r in event["Records"])
        return {"batchItemFailures": [{"itemIdentifier": r["messageId"]} for r in failed]}


def send(sqs_client, url: str, *bodies: str) -> None:
    sqs_client.send_message_batch(
        QueueUrl=url, Entries=[{"Id": str(i), "MessageBody": b} for i, b in enumerate(bodies)]
    )


def counts(visible: int = 0, in_flight: int = 0) -> QueueCounts:
    return QueueCounts(visible=visible, in_flight=in_flight, delayed=0)


def test_failed_records_come_back_after_the_visibility_timeout_and_successes_do_not(sqs_client, queue):
    sqs_client.set_queue_attributes(QueueUrl=queue.url, Attributes={"VisibilityTimeout": "1"})
    send(sqs_client, queue.url, "ok-1", "bad", "ok-2")
    function = FailingFor("bad")
    mapping = EventSourceMapping(
        sqs_client,
        queue.url,
        lambda: function,
        MappingConfig(batch_size=10, maximum_batching_window_in_seconds=1, function_timeout_seconds=1),
        poll_wait_seconds=1,
    )
    run_until(
        mapping,
        lambda: function.bodies.count("bad") == 2 and queue_counts(sqs_client, queue.url) == counts(),
        "the failed record's second delivery, then every message deleted",
    )
    assert sorted(function.bodies) == ["bad", "bad", "ok-1", "ok-2"]


def test_records_carry_the_real_receive_count_and_queue_arn(sqs_client, queue):
    send(sqs_client, queue.url, "one")
    seen = []

    class Recorder:
        def invoke(self, event):
            seen.extend(event["Records"])

    run_until(EventSourceMapping(sqs_client, queue.url, Recorder, poll_wait_seconds=1), lambda: seen, "a record")
    [record] = seen
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert record["eventSourceARN"].endswith(f":{queue.name}")
    assert record["eventSource"] == "aws:sqs"


def test_the_running_mapping_handles_and_deletes_everything(sqs_client, queue):
    for start in range(0, 30, 10):
        send(sqs_client, queue.url, *(f"m{i}" for i in range(start, start + 10)))
    function = FailingFor()
    mapping = EventSourceMapping(sqs_client, queue.url, lambda: function, poll_wait_seconds=1)
    run_until(
        mapping,
        lambda: len(function.bodies) == 30 and queue_counts(sqs_client, queue.url) == counts(),
        "thirty handled and deleted",
    )
    assert sorted(function.bodies) == sorted(f"m{i}" for i in range(30))


def test_a_batch_that_cannot_reach_its_container_waits_for_it_not_for_the_visibility_timeout(sqs_client, queue):
    # A restarting container refuses connections for a moment. Nothing ran, so the batch is tried again as soon
    # as it answers, rather than going back to the queue for the visibility timeout (180 s) and another receive.
    send(sqs_client, queue.url, "one")
    seen, refusals = [], [2]

    def restarting_container(request: httpx.Request) -> httpx.Response:
        if refusals[0]:
            refusals[0] -= 1
            raise httpx.ConnectError("connection refused", request=request)
        seen.extend(json.loads(request.content)["Records"])
        return httpx.Response(200, json={"batchItemFailures": []})

    container = HttpInvoker(
        "http://lambda:8080", timeout_seconds=1, transport=httpx.MockTransport(restarting_container)
    )
    mapping = EventSourceMapping(sqs_client, queue.url, lambda: container, poll_wait_seconds=1)
    run_until(mapping, lambda: seen and queue_counts(sqs_client, queue.url) == counts(), "the record handled", 10)
    assert [record["attributes"]["ApproximateReceiveCount"] for record in seen] == ["1"]


def test_stopping_hands_prefetched_messages_back_at_once(sqs_client, queue):
    release_function = threading.Event()
    invoked = []

    class SlowFunction:
        def invoke(self, event):
            invoked.append(event)
            release_function.wait(10)

    send(sqs_client, queue.url, *(f"m{i}" for i in range(10)))
    send(sqs_client, queue.url, *(f"n{i}" for i in range(5)))
    mapping = EventSourceMapping(sqs_client, queue.url, SlowFunction, MappingConfig(batch_size=5), poll_wait_seconds=1)
    with running(mapping):
        # Two batches run (MaximumConcurrency 2), the third is prefetched, waiting for a free slot: all 15 received.
        wait_until(lambda: len(invoked) == 2, 10, "two invocations")
        wait_until(lambda: queue_counts(sqs_client, queue.url) == counts(in_flight=15), 10, "the third batch received")
        mapping.stop()
        release_function.set()
    # The ten being processed were deleted; the five prefetched are visible again, not hidden for 180 s.
    wait_until(lambda: queue_counts(sqs_client, queue.url) == counts(visible=5), 10, "the prefetched five released")


def test_no_more_invocations_run_at_once_than_maximum_concurrency(sqs_client, queue):
    send(sqs_client, queue.url, *(f"m{i}" for i in range(10)))
    send(sqs_client, queue.url, *(f"n{i}" for i in range(10)))
    lock, active, peak, bodies = threading.Lock(), [0], [0], []
    all_in = threading.Barrier(3, timeout=10)  # the three overlap for sure before any finishes

    class Overlapping:
        def invoke(self, event):
            with lock:
                active[0] += 1
                peak[0] = max(peak[0], active[0])
            if len(bodies) == 0:
                with contextlib.suppress(threading.BrokenBarrierError):
                    all_in.wait()
            with lock:
                active[0] -= 1
                bodies.extend(r["body"] for r in event["Records"])

    config = MappingConfig(batch_size=2, maximum_concurrency=3)
    mapping = EventSourceMapping(sqs_client, queue.url, Overlapping, config, poll_wait_seconds=1)
    run_until(mapping, lambda: len(bodies) == 20, "twenty handled")
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
    send(sqs_client, queue.url, "slow")
    with running(mapping):
        wait_until(lambda: environments and not environments[0].alive, 20, "the overrunning environment killed")
        assert queue_counts(sqs_client, queue.url) == counts(in_flight=1), "not deleted: back after its timeout"
        send(sqs_client, queue.url, "fast")
        wait_until(lambda: len(environments) == 2, 20, "a fresh environment")
        wait_until(lambda: queue_counts(sqs_client, queue.url) == counts(in_flight=1), 20, "the fast one deleted")
        assert environments[1].alive


def test_on_a_fifo_queue_a_failure_holds_back_the_rest_of_its_group(sqs_client):
    url = sqs_client.create_queue(
        QueueName=f"fifo-{time.time_ns()}.fifo", Attributes={"FifoQueue": "true", "ContentBasedDeduplication": "true"}
    )["QueueUrl"]
    try:
        for body, group in [("a1", "a"), ("b1", "b"), ("a2", "a"), ("a3", "a")]:
            sqs_client.send_message(QueueUrl=url, MessageBody=body, MessageGroupId=group)
        function = FailingFor("a2")
        mapping = EventSourceMapping(sqs_client, url, lambda: function, MappingConfig(batch_size=10))
        run_until(mapping, lambda: queue_counts(sqs_client, url) == counts(in_flight=2), "a1 and b1 deleted")
        assert sorted(function.bodies) == ["a1", "a2", "a3", "b1"]
        assert [body for body in function.bodies if body.startswith("a")] == ["a1", "a2", "a3"], "in group order"
    finally:
        sqs_client.delete_queue(QueueUrl=url)
