"""Putting stuck tasks back on their way: nothing is lost when a consumer dies or the queue loses messages.

A task can get stuck two ways. Its consumer died while it was running (killed at the function timeout, its
environment gone) and its claim's lease ran out: it gets a fresh outbox message, unless that run was its
last attempt, in which case it is failed, so no task is dispatched without bound. Or it is queued but the queue
lost its message (purged, the emulator restarted): it gets a fresh message. (A message SQS gave up on is a
dead letter: see taskflow.services.dead_letters.) Claims stay conditional on status and version, so a
recovered task never runs twice at once, even if an old message turns up after all.
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.domain.states import TaskStatus
from taskflow.services.dispatching import enqueue
from taskflow.services.processing import give_up
from taskflow.services.transitions import move_task
from taskflow.task_types import get_task_type


@dataclass
class ExpiredLeases:
    """What the sweep did with the tasks whose consumer died: queued again, or failed on their last attempt."""

    requeued: list[Task] = field(default_factory=list)
    failed: list[Task] = field(default_factory=list)


def recover_expired_leases(*, session: Session, limit: int = 100) -> ExpiredLeases:
    """Requeue each task running past its claim's lease with a fresh message, or fail it if that was its last try."""
    query = select(Task).where(Task.status == TaskStatus.RUNNING, Task.lease_expires_at < func.now())
    done = ExpiredLeases()
    for task in _oldest_locked(session, query.order_by(Task.lease_expires_at), limit):
        if get_task_type(task.type).retry.gives_up_after(task.attempts):
            give_up(session, task)
            done.failed.append(task)
        else:
            task.lease_expires_at = None
            move_task(session, task, TaskStatus.QUEUED, detail={"recovered": "running past its lease"})
            enqueue(session, task, task.correlation_id)
            done.requeued.append(task)
    session.commit()
    return done


def republish_orphaned(*, session: Session, queued_for: timedelta, limit: int = 100) -> list[Task]:
    """Give a fresh message to tasks queued longer than `queued_for` (scheduled ones: that long past their run_at);
    call only while the queues hold nothing, delayed messages included."""
    cutoff: datetime = utc_now() - queued_for
    lost = or_(
        Task.status == TaskStatus.QUEUED,
        # A scheduled task's message is in the outbox or delayed in SQS until run_at; well after that, it is lost.
        and_(Task.status == TaskStatus.SCHEDULED, Task.run_at < cutoff),
    )
    query = select(Task).where(lost, Task.updated_at < cutoff).order_by(Task.updated_at)
    tasks = _oldest_locked(session, query, limit)
    for task in tasks:
        task.updated_at = utc_now()  # so the next sweep gives the new message time to arrive
        task.version += 1  # the lost message, should it turn up after all, is then stale
        enqueue(session, task, task.correlation_id)
    session.commit()
    return tasks


def _oldest_locked(session: Session, query, limit: int) -> list[Task]:
    # SKIP LOCKED: a task a consumer is finishing right now is not stuck; several relays sweep side by side.
    return list(session.scalars(query.limit(limit).with_for_update(skip_locked=True)))
