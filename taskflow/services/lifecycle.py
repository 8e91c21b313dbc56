"""Changing a task after it was created: edit, cancel, retry, delete. The API's side; no HTTP in it.

Each change locks the task row, so two clients (or a client and a consumer) never interleave on it,
and goes through the state machine in `move_task`.
"""

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.domain.errors import (
    PreconditionFailed,
    PreconditionRequired,
    TaskAlreadyStarted,
    TaskNotFound,
    TaskNotRetryable,
    TaskStillActive,
)
from taskflow.domain.states import TaskStatus, is_finished
from taskflow.services.outbox import NOTIFY_RELAY, dispatch_message
from taskflow.services.transitions import move_task
from taskflow.task_types import get_task_type

NOT_STARTED = frozenset({TaskStatus.PENDING, TaskStatus.QUEUED})


async def _locked_task(session: AsyncSession, tenant_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    task = await session.scalar(select(Task).where(Task.id == task_id, Task.tenant_id == tenant_id).with_for_update())
    if task is None:
        raise TaskNotFound(task_id)
    return task


def check_if_match(if_match: str | None, task: Task) -> None:
    """Raise unless `if_match` names the task's current version (its ETag)."""
    if if_match is None:
        raise PreconditionRequired()
    if if_match.strip() not in (etag(task), "*"):
        raise PreconditionFailed(if_match, task.version)


def etag(task: Task) -> str:
    """The task's entity tag: its version, which every change bumps."""
    return f'"{task.version}"'


async def update_task(
    *,
    session: AsyncSession,
    tenant_id: uuid.UUID,
    task_id: uuid.UUID,
    if_match: str | None,
    changes: dict,
) -> Task:
    """Change the payload, priority or labels of a task that has not started, if the client saw its current version."""
    task = await _locked_task(session, tenant_id, task_id)
    check_if_match(if_match, task)
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
    await session.commit()
    return task


async def cancel_task(*, session: AsyncSession, tenant_id: uuid.UUID, task_id: uuid.UUID, correlation_id: str) -> Task:
    """Cancel a pending or queued task; a consumer that receives its message then acknowledges it unrun."""
    task = await _locked_task(session, tenant_id, task_id)
    move_task(session, task, TaskStatus.CANCELLED, detail={"by": "client"}, correlation_id=correlation_id)
    await session.commit()
    return task


async def retry_task(*, session: AsyncSession, tenant_id: uuid.UUID, task_id: uuid.UUID, correlation_id: str) -> Task:
    """Queue a failed task again with a fresh message; its attempts keep counting."""
    task = await _locked_task(session, tenant_id, task_id)
    # The state machine also lets pending go to queued (the relay does that); a retry is for failures only.
    if task.status != TaskStatus.FAILED:
        raise TaskNotRetryable(task.id, task.status)
    move_task(session, task, TaskStatus.QUEUED, detail={"retry": True}, correlation_id=correlation_id)
    task.error = None
    task.finished_at = None
    session.add(dispatch_message(task, correlation_id))
    await session.execute(NOTIFY_RELAY)
    await session.commit()
    return task


async def delete_task(*, session: AsyncSession, tenant_id: uuid.UUID, task_id: uuid.UUID) -> None:
    """Remove a finished or cancelled task with its history."""
    task = await _locked_task(session, tenant_id, task_id)
    if not is_finished(task.status):
        raise TaskStillActive(task.id, task.status)
    await session.delete(task)
    await session.commit()
