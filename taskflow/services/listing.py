"""Listing a tenant's tasks a page at a time, by keyset: filters, order and opaque cursors."""

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, asc, desc, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from taskflow.db.models import Task
from taskflow.domain.errors import InvalidTaskRequest
from taskflow.domain.states import TaskStatus


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
