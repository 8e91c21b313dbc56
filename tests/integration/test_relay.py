"""The relay process's loop: it wakes on NOTIFY, and it outlasts an unreachable SQS endpoint."""

import threading
import time

from botocore.exceptions import EndpointConnectionError

from relay.outbox_relay import OutboxRelay
from relay.sqs_sender import SqsSender
from taskflow.db.login import DatabaseLogin
from taskflow.db.models import Task
from taskflow.services.dispatching import enqueue
from tests.integration.test_outbox import drain_queue
from tests.waiting import wait_until

# Far longer than any test waits: a task published before it passed was published on a notification.
IDLE_WAIT_SECONDS = 120.0


class UnreachableAtFirst:
    """A sender whose endpoint refuses the first `failures` calls, as SQS does while it restarts."""

    def __init__(self, real: SqsSender, failures: int) -> None:
        self.real, self.failures, self.calls = real, failures, 0

    def send(self, messages):
        self.calls += 1
        if self.calls <= self.failures:
            raise EndpointConnectionError(endpoint_url="http://sqs.invalid")
        return self.real.send(messages)


def relay_for(sessions, database_url, sender, **options) -> OutboxRelay:
    return OutboxRelay(
        sessions=sessions,
        sender=sender,
        login=DatabaseLogin(database_url),
        batch_size=100,
        idle_wait_seconds=IDLE_WAIT_SECONDS,
        **options,
    )


def test_the_relay_retries_with_backoff_until_sqs_answers(sessions, database_url, sqs_client, queue, new_task, read):
    task = new_task()
    sender = UnreachableAtFirst(SqsSender(sqs_client, queue.url), failures=3)
    sent = relay_for(sessions, database_url, sender).drain()
    assert sent >= 1 and sender.calls >= 4
    assert read.task(task.id).status == "queued"
    assert any(str(task.id) in m["Body"] for m in drain_queue(sqs_client, queue.url))


def test_the_relay_wakes_on_commit_not_on_its_timeout(sessions, database_url, sqs_client, queue, new_task, read):
    drained = threading.Event()  # set after the relay's first drain: from then on it waits on its LISTEN
    relay = relay_for(sessions, database_url, SqsSender(sqs_client, queue.url), between_drains=drained.set)
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        assert drained.wait(30), "the relay never finished its first drain"
        task = new_task()
        created = time.monotonic()
        wait_until(lambda: read.task(task.id).status == "queued", 30, "the task's publication")
        waited = time.monotonic() - created
    finally:
        relay.stop()
        thread.join(timeout=10)
    assert not thread.is_alive(), "the relay did not stop"
    assert waited < IDLE_WAIT_SECONDS / 2, "published on the relay's idle timeout, not on the notification"


def test_a_dispatch_through_enqueue_wakes_the_relay_too(sessions, database_url, sqs_client, queue, new_task, read):
    """Retry, redrive and the sweep dispatch with `enqueue`, in transactions of their own: the outbox's trigger
    wakes the relay for them as for a create."""
    task = new_task()  # committed before the relay starts: its first drain publishes it
    drained = threading.Event()
    relay = relay_for(sessions, database_url, SqsSender(sqs_client, queue.url), between_drains=drained.set)
    thread = threading.Thread(target=relay.run)
    thread.start()
    try:
        assert drained.wait(30), "the relay never finished its first drain"
        assert read.task(task.id).status == "queued"
        with sessions() as session:
            stored = session.get(Task, task.id)
            stored.version += 1
            enqueue(session, stored, "dispatched again")
            session.commit()
        dispatched = time.monotonic()
        wait_until(lambda: all(row.published_at for row in read.outbox(task.id)), 30, "the second publication")
        waited = time.monotonic() - dispatched
    finally:
        relay.stop()
        thread.join(timeout=10)
    assert len(read.outbox(task.id)) == 2
    assert waited < IDLE_WAIT_SECONDS / 2, "published on the relay's idle timeout, not on the notification"
