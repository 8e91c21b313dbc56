"""The only way a task's status changes: through the state machine, with a version bump and an event."""

import uuid

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Task, TaskEvent
from taskflow.domain.states import TaskStatus, check_transition, is_finished


def lock_tasks(
    session: Session, task_ids: set[uuid.UUID], *conditions: ColumnElement[bool], skip_locked: bool = False
) -> list[Task]:
    """Lock the tasks with these ids (that also meet `conditions`) for the rest of the transaction.

    Always in id order, so that two processes locking overlapping sets never deadlock.
    """
    if not task_ids:
        return []
    query = select(Task).where(Task.id.in_(task_ids), *conditions).order_by(Task.id)
    return list(session.scalars(query.with_for_update(skip_locked=skip_locked)))


def move_task(
    session: Session, task: Task, target: TaskStatus, *, detail: dict | None = None, correlation_id: str | None = None
) -> None:
    """Move `task` to `target` if the state machine allows it (IllegalTransition otherwise) and record why."""
    previous = task.status
    task.status = check_transition(previous, target)
    now = utc_now()
    task.version += 1
    task.updated_at = now
    if target is TaskStatus.RUNNING:
        task.attempts += 1
        task.started_at = now
    if is_finished(target):
        task.finished_at = now
    session.add(
        TaskEvent(
            task_id=task.id,
            from_status=previous,
            to_status=target,
            detail=detail or {},
            correlation_id=correlation_id or task.correlation_id,
            created_at=now,
        )
    )
