"""Creating, reading and listing tasks: what the API does, without any HTTP in it."""

import base64
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, asc, desc, select, text, tuple_
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from taskflow.clock import utc_now
from taskflow.db.models import Task, TaskEvent
from taskflow.domain.errors import InvalidTaskRequest, TaskNotFound
from taskflow.domain.messages import TaskMessage
from taskflow.domain.states import TaskStatus
from taskflow.services.outbox import OUTBOX_CHANNEL
from taskflow.task_types import get_task_type

log = logging.getLogger("taskflow.tasks")

# The API's hot path, in one statement and so one round trip: the task, its first event and the outbox
# message that dispatches it are written atomically (a single statement needs no enclosing transaction),
# and the relay is notified when the statement commits.
INSERT_TASK_WITH_MESSAGE = text(f"""
WITH task AS (
    INSERT INTO tasks (id, tenant_id, type, payload, priority, labels, status, attempts, version, correlation_id,
                       created_at, updated_at)
    VALUES (:id, :tenant_id, :type, CAST(:payload AS jsonb), :priority, :labels, :status, 0, 1, :correlation_id,
            :now, :now)
    RETURNING id
), first_event AS (
    INSERT INTO task_events (task_id, from_status, to_status, detail, correlation_id, created_at)
    SELECT id, NULL, :status, CAST(:event_detail AS jsonb), :correlation_id, :now FROM task
), message AS (
    INSERT INTO outbox (task_id, body, attributes, created_at)
    SELECT id, :message_body, CAST(:message_attributes AS jsonb), :now FROM task
)
SELECT pg_notify('{OUTBOX_CHANNEL}', '') FROM task
""")


async def create_task(
    *,
    database: AsyncEngine,
    tenant_id: uuid.UUID,
    task_type: str,
    payload: dict,
    correlation_id: str,
    priority: int = 0,
    labels: list[str] | None = None,
) -> Task:
    """Validate and save a new pending task together with its outbox message, in one atomic statement.

    `database` must be in autocommit mode, so the statement commits as soon as it runs; no connection is
    taken from its pool until the payload has passed validation.
    """
    kind = get_task_type(task_type)
    now = utc_now()
    task = Task(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        type=kind.name,
        payload=kind.validate_payload(payload).model_dump(mode="json"),
        priority=priority,
        labels=list(labels or []),
        status=TaskStatus.PENDING,
        attempts=0,
        version=1,
        correlation_id=correlation_id,
        created_at=now,
        updated_at=now,
    )
    message = TaskMessage(task_id=task.id, version=task.version, correlation_id=correlation_id)
    async with database.connect() as connection:
        await connection.execute(
            INSERT_TASK_WITH_MESSAGE,
            {
                "id": task.id,
                "tenant_id": tenant_id,
                "type": task.type,
                "payload": json.dumps(task.payload),
                "priority": task.priority,
                "labels": task.labels,
                "status": task.status,
                "correlation_id": correlation_id,
                "now": now,
                "event_detail": json.dumps({"type": task.type}),
                "message_body": message.to_body(),
                "message_attributes": json.dumps(message.to_attributes()),
            },
        )
    log.info("task created", extra={"task_id": str(task.id), "type": task.type})
    return task


async def get_task(*, session: AsyncSession, tenant_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    """The tenant's task with this id; TaskNotFound otherwise, including for another tenant's task."""
    task = await session.scalar(select(Task).where(Task.id == task_id, Task.tenant_id == tenant_id))
    if task is None:
        raise TaskNotFound(task_id)
    return task


async def get_task_events(*, session: AsyncSession, task_id: uuid.UUID) -> list[TaskEvent]:
    """A task's status changes, oldest first."""
    return list(await session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)))


@dataclass(frozen=True)
class TaskFilter:
    """Which of a tenant's tasks to list, and in which order. Each filter is served by an index (migration 0003)."""

    tenant_id: uuid.UUID
    statuses: tuple[TaskStatus, ...] = ()
    type: str | None = None
    label: str | None = None
    created_after: datetime | None = None
    created_before: datetime | None = None
    oldest_first: bool = False


@dataclass(frozen=True)
class TaskPage:
    """One page of tasks and the cursor of the next page (None on the last page)."""

    tasks: list[Task]
    next_cursor: str | None


def task_list_query(filters: TaskFilter, limit: int, cursor: str | None = None) -> Select:
    """The SELECT behind one page: filtered, ordered by (created_at, id), starting strictly after the cursor."""
    direction = asc if filters.oldest_first else desc
    query = (
        select(Task)
        .where(Task.tenant_id == filters.tenant_id)
        .order_by(direction(Task.created_at), direction(Task.id))
        .limit(limit)
    )
    if filters.statuses:
        query = query.where(Task.status.in_(filters.statuses))
    if filters.type:
        query = query.where(Task.type == filters.type)
    if filters.label:
        query = query.where(Task.labels.contains([filters.label]))
    if filters.created_after:
        query = query.where(Task.created_at >= filters.created_after)
    if filters.created_before:
        query = query.where(Task.created_at < filters.created_before)
    if cursor:
        created_at, task_id = decode_cursor(cursor, filters.oldest_first)
        position = tuple_(Task.created_at, Task.id)
        after = (
            position > tuple_(created_at, task_id) if filters.oldest_first else position < tuple_(created_at, task_id)
        )
        query = query.where(after)
    return query


async def list_tasks(*, session: AsyncSession, filters: TaskFilter, limit: int, cursor: str | None = None) -> TaskPage:
    """A page of tasks by keyset: each page starts strictly after the last row of the previous one."""
    tasks = list(await session.scalars(task_list_query(filters, limit + 1, cursor)))
    has_more = len(tasks) > limit
    tasks = tasks[:limit]
    return TaskPage(tasks, encode_cursor(tasks[-1], filters.oldest_first) if has_more else None)


def encode_cursor(task: Task, oldest_first: bool) -> str:
    """An opaque cursor pointing just after `task` in the given order."""
    raw = f"{'asc' if oldest_first else 'desc'}|{task.created_at.isoformat()}|{task.id}"
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_cursor(cursor: str, oldest_first: bool) -> tuple[datetime, uuid.UUID]:
    """The position a cursor points at; raise InvalidTaskRequest for one we did not issue for this order."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        order, created_at, task_id = raw.split("|")
        if order != ("asc" if oldest_first else "desc"):
            raise ValueError("cursor issued for the other order")
        return datetime.fromisoformat(created_at), uuid.UUID(task_id)
    except ValueError:
        raise InvalidTaskRequest(
            "invalid cursor", [{"field": "cursor", "message": "not a cursor this API issued for this order"}]
        ) from None
