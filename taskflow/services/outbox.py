"""The transactional outbox: messages are written with the change they announce and sent afterwards.

Writing the message in the task's own transaction means a task is never saved without its message, and a
message is never sent for a task that was rolled back. Every dispatch goes through
`taskflow.services.dispatching`. Every insert into the outbox notifies OUTBOX_CHANNEL when its transaction commits
(a trigger, migration 0010), so the relay wakes at once instead of polling, and no caller can forget to wake it.
The relay may die between sending and marking a row published; SQS then sees the message twice, which the consumer
tolerates.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Protocol

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import OutboxMessage, Task
from taskflow.domain.delays import SQS_MAX_DELAY_SECONDS
from taskflow.domain.priority import HIGH_PRIORITY_FROM, is_high_priority
from taskflow.services.hot_paths import mark_queued

# The channel migration 0010's trigger notifies on every insert into the outbox.
OUTBOX_CHANNEL = "taskflow_outbox"


@dataclass(frozen=True)
class OutgoingMessage:
    """One entry of a send batch: `id` is unique within the batch; `high_priority` picks the queue, and SQS holds
    the message back `delay_seconds` (at most SQS_MAX_DELAY_SECONDS)."""

    id: str
    body: str
    attributes: dict
    high_priority: bool = False
    delay_seconds: int = 0


class QueueSender(Protocol):
    """Sends messages; returns the ids that failed, each with its error."""

    def send(self, messages: Sequence[OutgoingMessage]) -> dict[str, str]: ...


def publish_pending_outbox(*, session: Session, sender: QueueSender, limit: int = 100) -> int:
    """Send up to `limit` unpublished messages, mark them published and their tasks queued; return how many.

    High-priority tasks' messages go first, to their own queue: a backlog in the outbox does not hold them up
    either. The task's priority now decides, so a change made before the message leaves still counts. A delayed
    message leaves once it is due within SQS_MAX_DELAY_SECONDS, with the rest of its delay as DelaySeconds
    (by the database's clock, which decided it was due).
    """
    horizon = func.now() + timedelta(seconds=SQS_MAX_DELAY_SECONDS)
    due = or_(OutboxMessage.due_at.is_(None), OutboxMessage.due_at <= horizon)
    delay = func.ceil(func.extract("epoch", OutboxMessage.due_at - func.now()))
    pending = session.execute(
        select(OutboxMessage, Task.priority, delay)
        .join(Task, Task.id == OutboxMessage.task_id)
        .where(OutboxMessage.published_at.is_(None), due)
        .order_by((Task.priority >= HIGH_PRIORITY_FROM).desc(), OutboxMessage.id)
        .limit(limit)
        # Other relays skip the rows this one holds, so several relays never send the same row at once.
        .with_for_update(of=OutboxMessage, skip_locked=True)
    ).all()
    if not pending:
        session.rollback()
        return 0
    outgoing = [
        OutgoingMessage(str(m.id), m.body, m.attributes, is_high_priority(priority), _delay_seconds(seconds))
        for m, priority, seconds in pending
    ]
    failures = sender.send(outgoing)
    now = utc_now()
    sent_task_ids = []
    for row, *_ in pending:
        if str(row.id) in failures:
            row.attempts += 1
            row.last_error = failures[str(row.id)]
        else:
            row.published_at = now
            sent_task_ids.append(row.task_id)
    if sent_task_ids:
        mark_queued(session, sent_task_ids)
    session.commit()
    return len(sent_task_ids)


def _delay_seconds(seconds) -> int:
    """What is left of a message's delay, as SQS takes it: whole seconds from 0 to SQS_MAX_DELAY_SECONDS."""
    return 0 if seconds is None else min(max(int(seconds), 0), SQS_MAX_DELAY_SECONDS)
