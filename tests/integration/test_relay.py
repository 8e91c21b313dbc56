"""The relay process's loop: it wakes on NOTIFY, and it outlasts an unreachable SQS endpoint."""

import threading
import time

from botocore.exceptions import EndpointConnectionError

from taskflow.db.login import DatabaseLogin
from taskflow.relay import OutboxRelay
from taskflow.sqs import SqsSender
from tests.integration.test_outbox import drain_queue


class UnreachableAtFirst:
    """A sender whose endpoint refuses the first `failures` calls, as SQS does while it restarts."""

    def __init__(self, real: SqsSender, failures: int) -> None:
        self.real, self.failures, self.calls = real, failures, 0

    def send_batch(self, messages):
        self.calls += 1
        if self.calls <= self.failures:
            raise EndpointConnectionError(endpoint_url="http://sqs.invalid")
        return self.real.send_batch(messages)


def relay_for(sessions, database_url, sender, idle_wait_seconds=60.0) -> OutboxRelay:
    return OutboxRelay(
        sessions=sessions,
        sender=sender,
        login=DatabaseLogin(database_url),
        batch_size=100,
        idle_wait_seconds=idle_wait_seconds,
    )


def test_the_relay_retries_with_backoff_until_sqs_answers(sessions, database_url, sqs_client, queue, new_task, read):
    task = new_task()
    sender = UnreachableAtFirst(SqsSender(sqs_client, queue.url), failures=3)
    sent = relay_for(sessions, database_url, sender).drain()
    assert sent >= 1 and sender.calls >= 4
    assert read.task(task.id).status == "queued"
    assert any(str(task.id) in m["Body"] for m in drain_queue(sqs_client, queue.url))


def test_the_relay_wakes_on_commit_not_on_its_timeout(sessions, database_url, sqs_client, queue, new_task, read):
    relay = relay_for(sessions, database_url, SqsSender(sqs_client, queue.url), idle_wait_seconds=60.0)
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        time.sleep(0.5)  # let it drain what earlier tests left and start listening
        task = new_task()
        created = time.monotonic()
        while read.task(task.id).status == "pending" and time.monotonic() - created < 5:
            time.sleep(0.01)
        waited = time.monotonic() - created
    finally:
        relay.stop()
        thread.join(timeout=70)
    assert read.task(task.id).status == "queued"
    assert waited < 1.0, f"published after {waited:.2f}s: the relay waited for its timeout, not the notification"
