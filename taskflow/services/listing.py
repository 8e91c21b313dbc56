"""Listing a tenant's tasks a page at a time, by keyset: filters, order and opaque cursors.

A page never loads what it was not asked for: without `include`, the payload and result columns stay in the
database; with it, the rows' sizes are read first and the page stops before it passes `max_bytes` of them
(at least one task is always listed), so a page of big payloads cannot exhaust the API's memory.
"""

import base64
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, Text, asc, cast, desc, func, select, tuple_
from sqlalchemy.orm import Session, defer

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
class Page:
    """One page of tasks and the cursor of the next page (None on the last page)."""

    tasks: list[Task]
    next_cursor: str | None


# The columns a listing loads only when asked (`include`), and what each weighs in bytes.
HEAVY_COLUMNS = {"payload": Task.payload, "result": Task.result}


def task_list_query(filters: TaskFilter, limit: int, cursor: str | None = None, columns=(Task,)) -> Select:
    """The SELECT behind one page: filtered, ordered by (created_at, id), starting strictly after the cursor."""
    direction = asc if filters.oldest_first else desc
    query = (
        select(*columns)
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


def list_tasks(
    session: Session,
    *,
    filters: TaskFilter,
    limit: int,
    cursor: str | None = None,
    include: frozenset[str] = frozenset(),
    max_bytes: int = 1_048_576,
) -> Page:
    """A page of tasks by keyset: each page starts strictly after the last row of the previous one.

    The payload and result are loaded only if named in `include`, and then only as many tasks as fit in
    `max_bytes` of them (one at least).
    """
    if include:
        return _page_within_bytes(session, filters, limit, cursor, include, max_bytes)
    skipped = [defer(column) for column in HEAVY_COLUMNS.values()]
    tasks = list(session.scalars(task_list_query(filters, limit + 1, cursor).options(*skipped)))
    return _page(tasks, limit, filters)


def _page_within_bytes(session: Session, filters: TaskFilter, limit: int, cursor, include, max_bytes) -> Page:
    # First the sizes only (the database measures the rows and sends numbers), then the rows that fit, by id.
    size = sum(func.coalesce(func.octet_length(cast(HEAVY_COLUMNS[name], Text)), 0) for name in sorted(include))
    measured = session.execute(task_list_query(filters, limit + 1, cursor, columns=(Task.id, size))).all()
    chosen, total = [], 0
    for task_id, row_bytes in measured[:limit]:
        total += row_bytes
        if chosen and total > max_bytes:
            break
        chosen.append(task_id)
    skipped = [defer(column) for name, column in HEAVY_COLUMNS.items() if name not in include]
    query = task_list_query(filters, len(chosen), cursor).where(Task.id.in_(chosen)).options(*skipped)
    tasks = list(session.scalars(query))
    more = tasks and len(measured) > len(chosen)
    return Page(tasks, encode_cursor(tasks[-1], filters.oldest_first) if more else None)


def _page(tasks: list[Task], limit: int, filters: TaskFilter) -> Page:
    has_more = len(tasks) > limit
    tasks = tasks[:limit]
    return Page(tasks, encode_cursor(tasks[-1], filters.oldest_first) if has_more else None)


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
