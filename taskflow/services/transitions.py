"""Finding tasks, and the only way their status changes: through the state machine, with a version bump and an
event (`move_task`; a task's first event comes from the same `new_event`).

A task that finishes, whoever finishes it (the consumer, the relay's dead-letter sweep, its owner's cancel), does
two more things in the same transaction: it writes its webhook delivery if it has a callback_url, and it settles the
tasks waiting for it (`after`): its success releases each one whose other prerequisites have all succeeded; its
failure or cancellation cancels them, and theirs cancels the tasks waiting for them in turn. Both finishing tasks
lock the waiting task before looking at its prerequisites, so when two of them finish at once the second sees the
first's commit, and the waiting task is released once, never forgotten.
"""

import uuid
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Task, TaskEvent
from taskflow.domain.delays import waiting_status
from taskflow.domain.errors import TaskNotFound
from taskflow.domain.states import TaskStatus, check_transition, is_finished
from taskflow.services.dispatching import enqueue
from taskflow.services.webhooks import new_delivery


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
    """Move `task` to `target` if the state machine allows it (IllegalTransition otherwise) and record why; a
    finish also writes its webhook delivery and settles the tasks waiting for it."""
    _record_move(session, task, target, detail, correlation_id)
    if is_finished(target):
        _settle_waiting_tasks(session, task, correlation_id or task.correlation_id)


def _record_move(session: Session, task: Task, target: TaskStatus, detail: dict | None, correlation_id: str | None):
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
    if is_finished(target) and task.callback_url:
        session.add(new_delivery(task))


def _settle_waiting_tasks(session: Session, finished: Task, correlation_id: str) -> None:
    # A worklist, not recursion: a tenant's chain of thousands of tasks is cancelled in one pass, in one transaction.
    settling = [finished]
    while settling:
        done = settling.pop()
        for task in find_waiting_after(session, done.id):
            if done.status != TaskStatus.SUCCEEDED:
                task.error = f"task {done.id}, which it runs after, {done.status}"
                detail = {"after": str(done.id), "reason": task.error}
                _record_move(session, task, TaskStatus.CANCELLED, detail, correlation_id)
                settling.append(task)
            elif not prerequisites_not_succeeded(session, task):
                release(session, task, correlation_id)


def find_waiting_after(session: Session, task_id: uuid.UUID) -> list[Task]:
    """The waiting tasks that run after `task_id`, locked, in id order (ix_tasks_waiting_after_ids)."""
    # In id order, as find_tasks locks, so that two finishes locking the same waiting tasks never deadlock.
    waiting = select(Task).where(Task.status == TaskStatus.WAITING, Task.after_ids.contains([task_id]))
    return list(session.scalars(waiting.order_by(Task.id).with_for_update()))


def prerequisites_not_succeeded(session: Session, task: Task) -> int:
    """How many of the tasks `task` runs after have not succeeded (a deleted one had: only finished tasks go)."""
    query = select(func.count()).where(Task.id.in_(task.after_ids or []), Task.status != TaskStatus.SUCCEEDED)
    return session.scalar(query)


def release(session: Session, task: Task, correlation_id: str) -> None:
    """Send a waiting task on its way, now that every task it runs after has succeeded."""
    detail = {"after": "every task it runs after succeeded"}
    still_ahead = task.run_at if task.run_at and task.run_at > utc_now() else None
    move_task(session, task, waiting_status(still_ahead), detail=detail, correlation_id=correlation_id)
    enqueue(session, task, correlation_id)


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
