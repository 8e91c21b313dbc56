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

from sqlalchemy import BigInteger, any_, bindparam, func, or_, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import OutboxMessage, Task
from taskflow.domain.delays import SQS_MAX_DELAY_SECONDS
from taskflow.domain.priority import HIGH_PRIORITY_FROM, is_high_priority
from taskflow.services.hot_paths import mark_queued

# The channel migration 0010's trigger notifies on every insert into the outbox.
OUTBOX_CHANNEL = "taskflow_outbox"
# A sent batch's rows marked in one statement (the relay read columns, not ORM rows: nothing to keep in step).
MARK_PUBLISHED = (
    update(OutboxMessage)
    .where(OutboxMessage.id == any_(bindparam("ids", type_=ARRAY(BigInteger))))
    .values(published_at=bindparam("now"))
    .execution_options(synchronize_session=False)
)


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
    delay = func.ceil(func.extract("epoch", OutboxMessage.due_at - func.now())).label("delay")
    message = OutboxMessage.id, OutboxMessage.task_id, OutboxMessage.body, OutboxMessage.attributes
    pending = session.execute(
        select(*message, Task.priority, delay)
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
        OutgoingMessage(str(r.id), r.body, r.attributes, is_high_priority(r.priority), _delay_seconds(r.delay))
        for r in pending
    ]
    failures = sender.send(outgoing)
    for row in pending:
        if str(row.id) in failures:
            session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row.id)
                .values(attempts=OutboxMessage.attempts + 1, last_error=failures[str(row.id)])
            )
    sent = [row for row in pending if str(row.id) not in failures]
    if sent:
        session.execute(MARK_PUBLISHED, {"ids": [row.id for row in sent], "now": utc_now()})
        mark_queued(session, [row.task_id for row in sent])
    session.commit()
    return len(sent)


def _delay_seconds(seconds) -> int:
    """What is left of a message's delay, as SQS takes it: whole seconds from 0 to SQS_MAX_DELAY_SECONDS."""
    return 0 if seconds is None else min(max(int(seconds), 0), SQS_MAX_DELAY_SECONDS)
