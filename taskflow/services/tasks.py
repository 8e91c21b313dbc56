"""A tenant's task after its creation: read it and its history, edit, cancel, retry or delete it.

Each change locks the task row, so two clients (or a client and a consumer) never interleave on it, and goes
through the state machine in `move_task`. Another tenant's task is never found (TaskNotFound), not refused.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Task, TaskEvent
from taskflow.domain.delays import run_at_of, waiting_status
from taskflow.domain.errors import PreconditionFailed, TaskAlreadyStarted, TaskNotRetryable, TaskStillActive
from taskflow.domain.states import NOT_STARTED, TaskStatus, is_finished
from taskflow.services.dispatching import enqueue
from taskflow.services.transitions import move_task, tenant_task
from taskflow.task_types import get_task_type


def get_task(session: Session, *, tenant_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    """The tenant's task with this id."""
    return tenant_task(session, tenant_id, task_id)


def get_task_events(session: Session, *, tenant_id: uuid.UUID, task_id: uuid.UUID) -> list[TaskEvent]:
    """The status changes of the tenant's task, oldest first."""
    tenant_task(session, tenant_id, task_id)
    return list(session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)))


def update_task(
    session: Session,
    *,
    tenant_id: uuid.UUID,
    task_id: uuid.UUID,
    expected_version: int | None,
    changes: dict,
    correlation_id: str = "",
) -> Task:
    """Change the payload, priority, labels or run time (run_at or delay_seconds) of a task that has not started,
    if it is still at `expected_version` (None: whatever its version)."""
    task = tenant_task(session, tenant_id, task_id, lock=True)
    if expected_version is not None and expected_version != task.version:
        raise PreconditionFailed(f"the task is at version {task.version}, not {expected_version}: it changed since")
    if task.status not in NOT_STARTED:
        raise TaskAlreadyStarted(task.id, task.status)
    if "payload" in changes:
        # The queued message is a claim check: the consumer will read this new payload.
        task.payload = get_task_type(task.type).validate_payload(changes["payload"]).model_dump(mode="json")
    for field in ("priority", "labels"):
        if field in changes:
            setattr(task, field, changes[field])
    task.version += 1
    task.updated_at = utc_now()
    if "run_at" in changes or "delay_seconds" in changes:
        _reschedule(session, task, changes.get("run_at"), changes.get("delay_seconds"), correlation_id)
    session.commit()
    return task


def _reschedule(session: Session, task: Task, run_at, delay_seconds, correlation_id: str) -> None:
    """Give the task its new run time with a fresh message: the one already sent, now stale, is dropped unrun. A
    task that is on its way at once already (pending, queued) and is asked to run at once is left as it is."""
    task.run_at = run_at_of(utc_now(), run_at, delay_seconds)
    if task.status == TaskStatus.WAITING:
        return  # it has no message yet: its release dispatches it for this run_at
    status = waiting_status(task.run_at)
    if status == TaskStatus.PENDING and task.status != TaskStatus.SCHEDULED:
        return
    if status != task.status:
        detail = {"run_at": task.run_at.isoformat() if task.run_at else None}
        move_task(session, task, status, detail=detail, correlation_id=correlation_id)
    enqueue(session, task, correlation_id or task.correlation_id)


def cancel_task(session: Session, *, tenant_id: uuid.UUID, task_id: uuid.UUID, correlation_id: str) -> Task:
    """Cancel a task that has not started; a consumer that receives its message then acknowledges it unrun, and
    the tasks waiting for it are cancelled too."""
    task = tenant_task(session, tenant_id, task_id, lock=True)
    move_task(session, task, TaskStatus.CANCELLED, detail={"by": "client"}, correlation_id=correlation_id)
    session.commit()
    return task


def retry_task(session: Session, *, tenant_id: uuid.UUID, task_id: uuid.UUID, correlation_id: str) -> Task:
    """Queue a failed task again with a fresh message; its attempts keep counting."""
    task = tenant_task(session, tenant_id, task_id, lock=True)
    # The state machine also lets pending go to queued (the relay does that); a retry is for failures only.
    if task.status != TaskStatus.FAILED:
        raise TaskNotRetryable(task.id, task.status)
    move_task(session, task, TaskStatus.QUEUED, detail={"retry": True}, correlation_id=correlation_id)
    task.error = None
    task.finished_at = None
    enqueue(session, task, correlation_id)
    session.commit()
    return task


def delete_task(session: Session, *, tenant_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Remove a finished or cancelled task with its history."""
    task = tenant_task(session, tenant_id, task_id, lock=True)
    if not is_finished(task.status):
        raise TaskStillActive(task.id, task.status)
    session.delete(task)
    session.commit()
