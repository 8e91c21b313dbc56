"""Creating, reading and listing tasks: what the API does, without any HTTP in it."""

import base64
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Task, TaskEvent
from taskflow.domain.errors import InvalidTaskRequest, TaskNotFound
from taskflow.domain.states import TaskStatus
from taskflow.services.outbox import enqueue_task_message
from taskflow.services.transitions import record_creation
from taskflow.task_types import get_task_type

log = logging.getLogger("taskflow.tasks")


def create_task(*, session: Session, task_type: str, payload: dict, correlation_id: str) -> Task:
    """Validate and save a new task together with its outbox message, in one transaction."""
    kind = get_task_type(task_type)
    validated = kind.validate_payload(payload)
    now = utc_now()
    task = Task(
        id=uuid.uuid4(),
        type=kind.name,
        payload=validated.model_dump(mode="json"),
        status=TaskStatus.PENDING,
        attempts=0,
        version=1,
        correlation_id=correlation_id,
        created_at=now,
        updated_at=now,
    )
    session.add(task)
    session.flush()  # the task row must exist before rows that reference it
    record_creation(session, task)
    enqueue_task_message(session, task, correlation_id)
    session.commit()
    log.info("task created", extra={"task_id": str(task.id), "type": task.type})
    return task


def get_task(*, session: Session, task_id: uuid.UUID) -> Task:
    """The task with this id; raise TaskNotFound otherwise."""
    task = session.get(Task, task_id)
    if task is None:
        raise TaskNotFound(task_id)
    return task


def get_task_events(*, session: Session, task_id: uuid.UUID) -> list[TaskEvent]:
    """A task's status changes, oldest first."""
    return list(session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)))


@dataclass(frozen=True)
class TaskPage:
    """One page of tasks, newest first, and the cursor of the next page (None on the last page)."""

    tasks: list[Task]
    next_cursor: str | None


def list_tasks(*, session: Session, limit: int, cursor: str | None = None) -> TaskPage:
    """Tasks newest first, by keyset: each page starts strictly after the last row of the previous one."""
    query = select(Task).order_by(Task.created_at.desc(), Task.id.desc()).limit(limit + 1)
    if cursor:
        created_at, task_id = decode_cursor(cursor)
        query = query.where(tuple_(Task.created_at, Task.id) < tuple_(created_at, task_id))
    tasks = list(session.scalars(query))
    has_more = len(tasks) > limit
    tasks = tasks[:limit]
    return TaskPage(tasks, encode_cursor(tasks[-1]) if has_more else None)


def encode_cursor(task: Task) -> str:
    """An opaque cursor pointing just after `task`."""
    raw = f"{task.created_at.isoformat()}|{task.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, uuid.UUID]:
    """The position a cursor points at; raise InvalidTaskRequest for anything we did not issue."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        created_at, task_id = raw.split("|")
        return datetime.fromisoformat(created_at), uuid.UUID(task_id)
    except ValueError:
        raise InvalidTaskRequest(
            "invalid cursor", [{"field": "cursor", "message": "not a cursor this API issued"}]
        ) from None
