"""What the dead-letter queue means for tasks: their failure history, and queuing them again on a redrive.

The queue itself is read and moved by taskflow.dead_letter_queue; these functions do the database side,
so the API and the operator's command share them.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from taskflow.db.models import Task, TaskEvent
from taskflow.domain.states import TaskStatus
from taskflow.services.transitions import lock_tasks, move_task


@dataclass(frozen=True)
class DeadLetterView:
    """A dead-lettered message and what became of its task (task fields are None for a poison body)."""

    message_id: str
    task_id: uuid.UUID | None
    task_type: str | None
    status: str | None
    receive_count: int
    first_failure_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None


def describe_dead_letters(session: Session, letters: list, tenant_id: uuid.UUID | None) -> list[DeadLetterView]:
    """The letters whose tasks belong to `tenant_id` (every letter when None), each with its task's failures.

    Every delivery of a dead-lettered message failed, so its first attempt is the first failure.
    """
    task_ids = {letter.task_id for letter in letters if letter.task_id is not None}
    query = (
        select(
            Task,
            func.min(TaskEvent.created_at).filter(TaskEvent.to_status == TaskStatus.RUNNING),
            func.max(TaskEvent.created_at).filter(
                (TaskEvent.to_status == TaskStatus.RUNNING) | TaskEvent.detail.has_key("error")
            ),
        )
        .outerjoin(TaskEvent, TaskEvent.task_id == Task.id)
        .where(Task.id.in_(task_ids))
        .group_by(Task.id)
    )
    if tenant_id is not None:
        query = query.where(Task.tenant_id == tenant_id)
    found = {task.id: (task, first, last) for task, first, last in session.execute(query)}
    views = []
    for letter in letters:
        if letter.task_id in found:
            task, first, last = found[letter.task_id]
            views.append(
                DeadLetterView(
                    letter.message_id, task.id, task.type, task.status, task.attempts, first, last, task.error
                )
            )
        elif tenant_id is None:
            views.append(
                DeadLetterView(letter.message_id, letter.task_id, None, None, letter.receive_count, *[None] * 3)
            )
    return views


def requeue_for_redrive(session: Session, task_ids: set[uuid.UUID], tenant_id: uuid.UUID | None) -> set[uuid.UUID]:
    """Queue again the failed tasks among these, before their messages move back; return the ids that may move.

    Only the tenant's tasks (all, when `tenant_id` is None). A task not failed yet keeps its status: its message
    simply returns. Attempts start again from zero, so the retry policy gives the task its full set of tries.
    """
    conditions = [Task.tenant_id == tenant_id] if tenant_id is not None else []
    tasks = lock_tasks(session, task_ids, *conditions)
    for task in tasks:
        if task.status == TaskStatus.FAILED:
            detail = {"redrive": True, "previous_attempts": task.attempts, "previous_error": task.error}
            move_task(session, task, TaskStatus.QUEUED, detail=detail)
            task.attempts, task.error, task.finished_at = 0, None, None
    session.commit()
    return {task.id for task in tasks}
