"""The outbox relay's publishing step against a real PostgreSQL and a real SQS endpoint."""

import threading

from relay.sqs_sender import SqsSender
from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.domain.messages import TaskMessage
from taskflow.services.outbox import publish_pending_outbox
from taskflow.services.tasks import update_task
from tests.integration.locks import blocked_on_a_lock
from tests.waiting import wait_until


def drain_queue(sqs_client, url: str) -> list[dict]:
    messages = []
    while True:
        batch = sqs_client.receive_message(
            QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
        ).get("Messages", [])
        if not batch:
            return messages
        messages.extend(batch)


def publish_all(sessions, sender) -> int:
    total = 0
    while True:
        with sessions() as session:
            sent = publish_pending_outbox(session=session, sender=sender, limit=25)
        if not sent:
            return total
        total += sent


def test_publishing_sends_the_message_marks_it_published_and_the_task_queued(
    sessions, sqs_client, queue, new_task, read
):
    task = new_task()
    publish_all(sessions, SqsSender(sqs_client, queue.url))
    mine = [m for m in drain_queue(sqs_client, queue.url) if TaskMessage.from_body(m["Body"]).task_id == task.id]
    assert len(mine) == 1
    assert mine[0]["MessageAttributes"]["correlation_id"]["StringValue"] == task.correlation_id
    assert read.outbox(task.id)[0].published_at is not None
    queued = read.task(task.id)
    assert (queued.status, queued.version) == ("queued", task.version + 1)
    [_, event] = read.events(task.id)
    assert (event.from_status, event.to_status, event.detail) == ("pending", "queued", {"published": True})
    assert (event.correlation_id, event.created_at) == (task.correlation_id, queued.updated_at)


class RefusingSender:
    """Refuses every entry the way SendMessageBatch reports per-entry failures."""

    def send(self, messages):
        return {m.id: "InternalError: try again" for m in messages}


def test_a_refused_entry_stays_unpublished_with_its_error(sessions, new_task, read):
    task = new_task()
    with sessions() as session:
        publish_pending_outbox(session=session, sender=RefusingSender(), limit=1000)
    [row] = read.outbox(task.id)
    assert row.published_at is None and row.attempts == 1 and row.last_error == "InternalError: try again"
    assert read.task(task.id).status == "pending"


def test_two_relays_never_send_the_same_row(sessions, sqs_client, queue, new_task):
    created = {new_task().id for _ in range(60)}
    sender = SqsSender(sqs_client, queue.url)
    threads = [threading.Thread(target=publish_all, args=(sessions, sender)) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    sent = [TaskMessage.from_body(m["Body"]).task_id for m in drain_queue(sqs_client, queue.url)]
    mine = [task_id for task_id in sent if task_id in created]
    assert sorted(mine) == sorted(created), "every task sent exactly once"


def sent_to(sqs_client, url: str) -> set:
    return {TaskMessage.from_body(m["Body"]).task_id for m in drain_queue(sqs_client, url)}


def test_high_priority_messages_leave_first_and_go_to_their_own_queue(sessions, sqs_client, queue, new_task, tenant):
    backlog = {new_task().id for _ in range(30)}
    urgent = new_task(priority=9)
    raised = new_task()  # created normal, raised to high priority before its message left
    with sessions() as session:
        update_task(session, tenant_id=tenant.id, task_id=raised.id, expected_version=None, changes={"priority": 7})
    sender = SqsSender(sqs_client, queue.url, queue.high_priority_url)
    with sessions() as session:
        publish_pending_outbox(session=session, sender=sender, limit=10)  # one batch, behind a backlog of 30
    assert {urgent.id, raised.id} <= sent_to(sqs_client, queue.high_priority_url)
    publish_all(sessions, sender)
    normal = sent_to(sqs_client, queue.url)
    assert backlog <= normal and not {urgent.id, raised.id} & normal


def test_a_queued_mark_that_waited_for_a_lock_is_dated_after_the_change_it_waited_for(
    sessions, sqs_client, queue, new_task, read
):
    task = new_task()
    with sessions() as editing:  # an edit holding the row while the relay's mark waits for it
        locked = editing.get(Task, task.id, with_for_update=True)
        relay = threading.Thread(target=publish_all, args=(sessions, SqsSender(sqs_client, queue.url)))
        relay.start()
        wait_until(lambda: blocked_on_a_lock(sessions), 10, "the relay's mark waiting for the row")
        locked.priority, locked.version, locked.updated_at = 3, locked.version + 1, utc_now()
        edited_at = locked.updated_at
        editing.commit()
    relay.join(30)
    queued, [_, event] = read.task(task.id), read.events(task.id)
    assert (queued.status, event.to_status, queued.version) == ("queued", "queued", task.version + 2)
    assert queued.updated_at == event.created_at > edited_at
