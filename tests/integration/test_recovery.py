"""Stuck tasks get back on their way, or are failed truthfully when their message was dead-lettered."""

import time
from datetime import timedelta

from taskflow import relay_metrics
from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.dead_letter_queue import DeadLetterQueue
from taskflow.relay import Recovery
from taskflow.services.outbox import publish_pending_outbox
from taskflow.services.recovery import republish_orphaned, requeue_expired_leases
from taskflow.sqs import SqsSender
from tests.integration.lambda_events import body_of, event_for, failures
from tests.integration.test_outbox import drain_queue

LEASE = timedelta(minutes=1)


def age(sessions, task_id, *, status: str, minutes: int) -> None:
    """Make a task look as if it has been in `status` for `minutes`."""
    with sessions() as session:
        task = session.get(Task, task_id)
        long_ago = utc_now() - timedelta(minutes=minutes)
        task.status, task.started_at, task.updated_at = status, long_ago, long_ago
        session.commit()


def sweep(sender: SqsSender, dead_lettered=set) -> Recovery:
    """The relay's sweep over the test queue, due at once, with a two-minute orphan threshold."""
    return Recovery(
        lease=LEASE,
        orphan_after=timedelta(minutes=2),
        queue_is_drained=sender.is_drained,
        dead_lettered=dead_lettered,
        dead_letter_grace=timedelta(0),
        interval_seconds=60,
    )


def test_a_task_running_past_its_lease_is_queued_again_with_a_fresh_message(sessions, new_task, read):
    dead, alive = new_task(), new_task()
    age(sessions, dead.id, status="running", minutes=10)
    age(sessions, alive.id, status="running", minutes=0)
    with sessions() as session:
        requeued = requeue_expired_leases(session=session, lease=LEASE)
    assert dead.id in {t.id for t in requeued} and alive.id not in {t.id for t in requeued}
    assert read.task(dead.id).status == "queued"
    assert len(read.outbox(dead.id)) == 2
    assert read.events(dead.id)[-1].detail == {"recovered": "running past its lease"}
    assert read.task(alive.id).status == "running"


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

    recovery = sweep(sender)
    recovery.run_if_due(sessions)
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
    sender = SqsSender(sqs_client, queue.url)
    assert not sender.is_drained()
    sweep(sender).run_if_due(sessions)
    assert len(read.outbox(task.id)) == 1


def test_a_task_whose_message_was_dead_lettered_is_marked_failed(sessions, sqs_client, queue, new_task, read, handler):
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
    time.sleep(1.5)
    assert not sqs_client.receive_message(QueueUrl=queue.url, WaitTimeSeconds=1).get("Messages"), "dead-lettered"

    sender = SqsSender(sqs_client, queue.url)
    sweep(sender, dead_lettered=DeadLetterQueue(sqs_client, queue.dlq_url, queue.url).task_ids).run_if_due(sessions)

    failed = read.task(stuck.id)
    assert (failed.status, failed.error) == ("failed", "dead-lettered: its message failed too many deliveries")
    counted = relay_metrics.REGISTRY.get_sample_value(
        "taskflow_tasks_swept_total", {"type": stuck.type, "action": "dead_lettered"}
    )
    assert counted >= 1, "the relay's /metrics counts it"
    assert read.events(stuck.id)[-1].detail == {"reason": "dead-lettered", "error": failed.error}
    assert read.task(finished.id).status == "succeeded", "a finished task is left as it is"
    # The peek made what it read visible again at once: all three are still there for a redrive.
    back = sqs_client.receive_message(QueueUrl=queue.dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=2)["Messages"]
    assert len(back) == 3
