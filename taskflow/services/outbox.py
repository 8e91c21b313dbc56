"""The transactional outbox: messages are written with the change they announce and sent afterwards.

Writing the message in the task's own transaction (see `create_task`) means a task is never saved without
its message, and a message is never sent for a task that was rolled back. PostgreSQL notifies
OUTBOX_CHANNEL when such a transaction commits, so the relay wakes at once instead of polling.
The relay may die between sending and marking a row published; SQS then sees the message twice,
which the consumer tolerates.
"""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import OutboxMessage, Task
from taskflow.domain.messages import TaskMessage
from taskflow.domain.states import TaskStatus
from taskflow.services.transitions import lock_tasks, move_task

OUTBOX_CHANNEL = "taskflow_outbox"
SQS_BATCH_LIMIT = 10
# Executed in the transaction that adds outbox rows: PostgreSQL delivers it to the relay on commit.
NOTIFY_RELAY = text(f"NOTIFY {OUTBOX_CHANNEL}")


def dispatch_message(task: Task, correlation_id: str) -> OutboxMessage:
    """The outbox row that (re)dispatches `task` at its current version; add it and execute NOTIFY_RELAY.

    Earlier messages of the task become stale: a consumer drops them instead of running the task again.
    """
    task.dispatched_version = task.version
    message = TaskMessage(task_id=task.id, version=task.version, correlation_id=correlation_id, type=task.type)
    return OutboxMessage(task_id=task.id, body=message.to_body(), attributes=message.to_attributes())


@dataclass(frozen=True)
class OutgoingMessage:
    """One entry of a send batch: `id` is unique within the batch."""

    id: str
    body: str
    attributes: dict


class QueueSender(Protocol):
    """Sends up to ten messages at once; returns the ids that failed, each with its error."""

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> dict[str, str]: ...


def _chunks(rows: Sequence[OutboxMessage], size: int) -> Iterator[Sequence[OutboxMessage]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def publish_pending_outbox(*, session: Session, sender: QueueSender, limit: int = 100) -> int:
    """Send up to `limit` unpublished messages, mark them published and their tasks queued; return how many."""
    rows = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.published_at.is_(None))
        .order_by(OutboxMessage.id)
        .limit(limit)
        # Other relays skip the rows this one holds, so several relays never send the same row at once.
        .with_for_update(skip_locked=True)
    ).all()
    if not rows:
        session.rollback()
        return 0
    failures: dict[str, str] = {}
    for chunk in _chunks(rows, SQS_BATCH_LIMIT):
        failures.update(sender.send_batch([OutgoingMessage(str(row.id), row.body, row.attributes) for row in chunk]))
    now = utc_now()
    sent_task_ids = []
    for row in rows:
        if str(row.id) in failures:
            row.attempts += 1
            row.last_error = failures[str(row.id)]
        else:
            row.published_at = now
            sent_task_ids.append(row.task_id)
    _mark_queued(session, sent_task_ids)
    session.commit()
    return len(sent_task_ids)


def _mark_queued(session: Session, task_ids: list) -> None:
    # Only tasks still pending: a fast consumer may already have claimed one.
    for task in lock_tasks(session, set(task_ids), Task.status == TaskStatus.PENDING):
        move_task(session, task, TaskStatus.QUEUED, detail={"published": True})
