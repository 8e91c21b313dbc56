"""Putting stuck tasks back on their way: nothing is lost when a consumer dies or the queue loses messages.

A task can get stuck three ways. Its consumer died while it was running and its message is gone too (deleted,
dead-lettered), so no redelivery will take it over; or it is queued but the queue lost its message (purged,
the emulator restarted): both get a fresh outbox message. Or its message failed so often that SQS moved it
to the dead-letter queue: then the task is marked failed, so the API tells the truth. Claims stay conditional
on status and version, so a recovered task never runs twice at once, even if an old message turns up after all.
"""

import uuid
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.domain.states import TaskStatus, is_finished
from taskflow.services.outbox import NOTIFY_RELAY, dispatch_message
from taskflow.services.transitions import lock_tasks, move_task


def requeue_expired_leases(*, session: Session, lease: timedelta, limit: int = 100) -> list[Task]:
    """Move tasks running past their lease back to queued, each with a fresh message; return them."""
    tasks = _oldest_locked(session, TaskStatus.RUNNING, Task.started_at, utc_now() - lease, limit)
    for task in tasks:
        move_task(session, task, TaskStatus.QUEUED, detail={"recovered": "running past its lease"})
        session.add(dispatch_message(task, task.correlation_id))
    _commit_and_notify(session, tasks)
    return list(tasks)


def republish_orphaned(*, session: Session, queued_for: timedelta, limit: int = 100) -> list[Task]:
    """Give a fresh message to tasks queued longer than `queued_for`; call only while the queue holds nothing."""
    tasks = _oldest_locked(session, TaskStatus.QUEUED, Task.updated_at, utc_now() - queued_for, limit)
    for task in tasks:
        task.updated_at = utc_now()  # so the next sweep gives the new message time to arrive
        task.version += 1  # the lost message, should it turn up after all, is then stale
        session.add(dispatch_message(task, task.correlation_id))
    _commit_and_notify(session, tasks)
    return list(tasks)


def fail_dead_lettered(*, session: Session, task_ids: set[uuid.UUID], untouched_for: timedelta) -> list[Task]:
    """Mark the unfinished tasks among these, whose messages sit in the dead-letter queue, failed; return them.

    Only tasks untouched for `untouched_for`: a task just queued again by a redrive still has its message
    in the dead-letter queue while the message moves back.
    """
    recently = Task.updated_at > utc_now() - untouched_for
    tasks = [t for t in lock_tasks(session, task_ids, ~recently, skip_locked=True) if not is_finished(t.status)]
    for task in tasks:
        task.error = "dead-lettered: its message failed too many deliveries"
        move_task(session, task, TaskStatus.FAILED, detail={"reason": "dead-lettered", "error": task.error})
    session.commit()
    return tasks


def _oldest_locked(session: Session, status: TaskStatus, since, cutoff: datetime, limit: int) -> list[Task]:
    # SKIP LOCKED: a task a consumer is finishing right now is not stuck; several relays sweep side by side.
    query = (
        select(Task)
        .where(Task.status == status, since < cutoff)
        .order_by(since)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.scalars(query))


def _commit_and_notify(session: Session, tasks) -> None:
    if tasks:
        session.execute(NOTIFY_RELAY)
    session.commit()
