"""Stuck tasks get back on their way, or are failed truthfully once their attempts or their message are used up."""

import time
from datetime import timedelta

from sqlalchemy import func

from relay import metrics
from relay.dead_letter_queue import DeadLetterQueue
from relay.sqs_sender import SqsSender
from relay.sweep import Sweep
from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.services.outbox import publish_pending_outbox
from taskflow.services.recovery import recover_expired_leases, republish_orphaned
from taskflow.sqs import queue_counts
from tests.integration.lambda_events import body_of, event_for, failures
from tests.integration.test_outbox import drain_queue


def age(sessions, task_id, *, status: str, minutes: int, attempts: int = 1) -> None:
    """Make a task look as if it has been in `status` for `minutes` (running: its lease ran out as long ago)."""
    with sessions() as session:
        task = session.get(Task, task_id)
        long_ago = utc_now() - timedelta(minutes=minutes)
        task.status, task.started_at, task.updated_at, task.attempts = status, long_ago, long_ago, attempts
        task.lease_expires_at = func.now() - timedelta(minutes=minutes) if status == "running" else None
        session.commit()


def depth(sqs_client, url: str) -> int:
    attributes = sqs_client.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    return int(attributes["Attributes"]["ApproximateNumberOfMessages"])


def sweep(sessions, sqs_client, queue) -> Sweep:
    """The relay's sweep over the test queue, with a two-minute orphan threshold."""
    return Sweep(
        sessions=sessions,
        orphan_after=timedelta(minutes=2),
        queue_is_empty=lambda: queue_counts(sqs_client, queue.url).is_empty,
        dead_letter_queues=[DeadLetterQueue(sqs_client, queue.dlq_url)],
        interval_seconds=60,
    )


def test_a_task_running_past_its_lease_is_queued_again_with_a_fresh_message(sessions, new_task, read):
    dead, alive = new_task(), new_task()
    age(sessions, dead.id, status="running", minutes=10)
    age(sessions, alive.id, status="running", minutes=-1)  # its lease ends in a minute
    with sessions() as session:
        requeued = recover_expired_leases(session=session).requeued
    assert dead.id in {t.id for t in requeued} and alive.id not in {t.id for t in requeued}
    assert read.task(dead.id).status == "queued"
    assert len(read.outbox(dead.id)) == 2
    assert read.events(dead.id)[-1].detail == {"recovered": "running past its lease"}
    assert read.task(alive.id).status == "running"


def test_a_task_whose_last_attempt_ran_past_its_lease_is_failed_never_dispatched_again(sessions, new_task, read):
    task = new_task()  # word_stats: five attempts
    age(sessions, task.id, status="running", minutes=10, attempts=5)
    with sessions() as session:
        recovered = recover_expired_leases(session=session)
    assert task.id in {t.id for t in recovered.failed}
    failed = read.task(task.id)
    assert failed.status == "failed"
    assert failed.error == "gave up after 5 attempts: the function timed out or its execution environment died"
    assert read.events(task.id)[-1].detail == {"error": failed.error, "reason": "lease expired"}
    assert len(read.outbox(task.id)) == 1, "no fresh message"


def test_only_long_queued_tasks_are_republished(sessions, new_task, read):
    lost, fresh, pending = new_task(), new_task(), new_task()
    age(sessions, lost.id, status="queued", minutes=10)
    age(sessions, fresh.id, status="queued", minutes=0)
    with sessions() as session:
        republished = {t.id for t in republish_orphaned(session=session, queued_for=timedelta(minutes=2))}
    assert lost.id in republished and fresh.id not in republished and pending.id not in republished
    assert len(read.outbox(lost.id)) == 2 and len(read.outbox(fresh.id)) == 1


def test_a_task_whose_message_the_queue_lost_still_runs(sessions, sqs_client, queue, new_task, read, handler):
    sender = SqsSender(sqs_client, queue.url)
    task = new_task()
    with sessions() as session:
        publish_pending_outbox(session=session, sender=sender, limit=1000)
    for message in drain_queue(sqs_client, queue.url):  # the emulator restarts: every message is gone
        sqs_client.delete_message(QueueUrl=queue.url, ReceiptHandle=message["ReceiptHandle"])
    age(sessions, task.id, status="queued", minutes=10)

    sweep(sessions, sqs_client, queue).run()
    with sessions() as session:
        publish_pending_outbox(session=session, sender=sender, limit=1000)
    mine = [m for m in drain_queue(sqs_client, queue.url) if str(task.id) in m["Body"]]
    assert len(mine) == 1, "a fresh message for the lost one"
    assert failures(handler.invoke(event_for(body_of(read.task(task.id))))) == []
    assert read.task(task.id).status == "succeeded"


def test_nothing_is_republished_while_the_queue_still_holds_messages(sessions, sqs_client, queue, new_task, read):
    sqs_client.send_message(QueueUrl=queue.url, MessageBody="still on its way")
    task = new_task()
    age(sessions, task.id, status="queued", minutes=10)
    assert not queue_counts(sqs_client, queue.url).is_empty
    sweep(sessions, sqs_client, queue).run()
    assert len(read.outbox(task.id)) == 1


def test_a_task_whose_message_sqs_gave_up_on_is_failed_and_its_letter_recorded(
    sessions, sqs_client, queue, new_task, read, handler
):
    # A queue that gives up after one delivery, so SQS itself moves the message to the dead-letter queue.
    dlq_arn = sqs_client.get_queue_attributes(QueueUrl=queue.dlq_url, AttributeNames=["QueueArn"])["Attributes"]
    redrive = f'{{"deadLetterTargetArn": "{dlq_arn["QueueArn"]}", "maxReceiveCount": "1"}}'
    sqs_client.set_queue_attributes(QueueUrl=queue.url, Attributes={"RedrivePolicy": redrive, "VisibilityTimeout": "1"})
    stuck, finished = new_task(), new_task()
    handler.invoke(event_for(body_of(finished)))
    sqs_client.send_message(QueueUrl=queue.url, MessageBody=body_of(stuck))
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody=body_of(finished))
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody="not a task message")
    assert sqs_client.receive_message(QueueUrl=queue.url, WaitTimeSeconds=2).get("Messages"), "first delivery fails"
    dead_letter_queue = DeadLetterQueue(sqs_client, queue.dlq_url)
    deadline = time.monotonic() + 10
    while depth(sqs_client, queue.dlq_url) < 3:  # a receive after the visibility timeout moves it there
        assert not sqs_client.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1).get("Messages"), "redelivered"
        assert time.monotonic() < deadline, "never dead-lettered"

    sweep(sessions, sqs_client, queue).run()

    failed = read.task(stuck.id)
    assert (failed.status, failed.error) == ("failed", "dead-lettered: its message failed 1 delivery")
    counted = metrics.REGISTRY.get_sample_value(
        "taskflow_tasks_swept_total", {"type": stuck.type, "action": "dead_lettered"}
    )
    assert counted >= 1, "the relay's /metrics counts it"
    assert read.events(stuck.id)[-1].detail == {"reason": "dead-lettered", "error": failed.error}
    assert read.task(finished.id).status == "succeeded", "a finished task is left as it is"
    assert dead_letter_queue.receive() == [], "all three were recorded and deleted from the queue"
