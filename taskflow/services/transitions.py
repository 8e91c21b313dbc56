"""Finding tasks, and the only way their status changes: through the state machine, with a version bump and an
event (`move_task`; a task's first event comes from the same `new_event`)."""

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Task, TaskEvent
from taskflow.domain.errors import TaskNotFound
from taskflow.domain.states import TaskStatus, check_transition, is_finished


def find_tasks(
    session: Session, task_ids: set[uuid.UUID], *conditions: ColumnElement[bool], lock: bool, skip_locked: bool = False
) -> list[Task]:
    """The tasks with these ids that meet `conditions`; with `lock`, locked for the rest of the transaction.

    Always in id order, so that two processes locking overlapping sets never deadlock.
    """
    if not task_ids:
        return []
    query = select(Task).where(Task.id.in_(task_ids), *conditions).order_by(Task.id)
    if lock:
        query = query.with_for_update(skip_locked=skip_locked)
    return list(session.scalars(query))


def tenant_task(session: Session, tenant_id: uuid.UUID, task_id: uuid.UUID, *, lock: bool = False) -> Task:
    """The tenant's task (locked, with `lock`); TaskNotFound otherwise, another tenant's task included."""
    found = find_tasks(session, {task_id}, Task.tenant_id == tenant_id, lock=lock)
    if not found:
        raise TaskNotFound(task_id)
    return found[0]


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
    session.add(new_event(task, previous, detail=detail, correlation_id=correlation_id, at=now))


def new_event(
    task: Task, previous: str | None, *, detail: dict | None, correlation_id: str | None, at: datetime
) -> TaskEvent:
    """The event recording that `task` moved from `previous` (None: it was just created) to its status."""
    return TaskEvent(
        task_id=task.id,
        from_status=previous,
        to_status=task.status,
        detail=detail or {},
        correlation_id=correlation_id or task.correlation_id,
        created_at=at,
    )
