"""Creating a task: validated, then saved with its first event and its outbox message in one statement, and
only once per Idempotency-Key.

The API's hot path is one statement and so one round trip (a single statement is atomic without an enclosing
transaction). It still goes through the rules: the rows are the model's objects (the first event from
`new_event`, as every event; the message from `dispatch`, as every dispatch), and the statement's columns come
from the model's tables. With an Idempotency-Key, the key is claimed first, in the same statement, and the task
written only if this request claimed it: a concurrent request with the same key waits on the key's unique index
until the first commits, then claims nothing and writes nothing.
"""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Column, ColumnElement, Connection, Insert, bindparam, cast, exists, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Base, IdempotencyKey, OutboxMessage, Task, TaskEvent
from taskflow.domain.delays import run_at_of, waiting_status
from taskflow.domain.errors import IdempotencyKeyReused, PrerequisiteFailed, TaskNotFound, UnknownPrerequisite
from taskflow.domain.states import TaskStatus
from taskflow.services.dispatching import dispatch
from taskflow.services.transitions import new_event, release
from taskflow.task_types import get_task_type

log = logging.getLogger("taskflow.tasks")


def _written_columns(model: type[Base]) -> list[Column]:
    # Every column but a generated id.
    return [column for column in model.__table__.columns if not (column.primary_key and column.autoincrement is True)]


def _row(model: type[Base], where: ColumnElement[bool] | None = None, after=None):
    """SELECT of one row of `model` from bound parameters named table_column (its values), optionally only if
    `where` holds or the CTE `after` returned a row."""
    values = [
        cast(bindparam(f"{model.__tablename__}_{c.key}", type_=c.type), c.type).label(c.key)
        for c in _written_columns(model)
    ]
    row = select(*values)
    if after is not None:
        row = row.select_from(after)
    return row.where(where) if where is not None else row


def _insert(model: type[Base], row) -> Insert:
    return insert(model).from_select([c.key for c in _written_columns(model)], row)


def _create_statement():
    key = bindparam("idempotency_keys_key", type_=IdempotencyKey.key.type)
    claimed_key = (
        _insert(IdempotencyKey, _row(IdempotencyKey, where=key.is_not(None)))
        .on_conflict_do_nothing(index_elements=[IdempotencyKey.tenant_id, IdempotencyKey.key])
        .returning(IdempotencyKey.task_id)
        .cte("claimed_key")
    )
    task = (
        _insert(Task, _row(Task, where=or_(key.is_(None), exists(select(claimed_key.c.task_id)))))
        .returning(Task.id)
        .cte("task")
    )
    first_event = _insert(TaskEvent, _row(TaskEvent, after=task)).cte("first_event")
    message = _insert(OutboxMessage, _row(OutboxMessage, after=task)).cte("message")
    # PostgreSQL runs every data-modifying CTE to completion, read or not; the task's id says it was written.
    return select(task.c.id).add_cte(first_event, message)


CREATE_TASK = _create_statement()


def _parameters(*rows: Base) -> dict:
    return {f"{row.__tablename__}_{c.key}": getattr(row, c.key) for row in rows for c in _written_columns(type(row))}


@dataclass(frozen=True)
class Created:
    """The task a create request stands for, and whether this request created it (False: an idempotent replay)."""

    task: Task
    created: bool


def request_hash(
    task_type: str,
    payload: dict,
    priority: int,
    labels: list[str],
    when: dict | None = None,
    after: list | None = None,
    callback_url: str | None = None,
) -> str:
    """A fingerprint of a create request, to tell a replay from a different request reusing a key. `when` holds
    run_at or delay_seconds as the client gave them (a replay of a delay is the same request a second later)."""
    fields = [task_type, payload, priority, labels] + ([when] if when else [])  # undelayed: hashes as before
    fields += [sorted(map(str, after))] if after else []
    fields += [{"callback_url": callback_url}] if callback_url else []
    canonical = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class NewTask:
    """A validated create request: the rows its one statement writes."""

    task: Task
    idempotency_key: IdempotencyKey  # its `key` is None without an Idempotency-Key
    first_event: TaskEvent
    message: OutboxMessage | None  # None for a task that waits for others (`after`): it is dispatched later


def new_task(
    *,
    tenant_id: uuid.UUID,
    task_type: str,
    payload: dict,
    correlation_id: str,
    priority: int = 0,
    labels: list[str] | None = None,
    idempotency_key: str | None = None,
    run_at: datetime | None = None,
    delay_seconds: int | None = None,
    after: list[uuid.UUID] | None = None,
    callback_url: str | None = None,
) -> NewTask:
    """Validate a create request (UnknownTaskType, InvalidTaskRequest) and build its rows; no I/O, so a bad
    request never takes a database connection. With a future `run_at` (or `delay_seconds`) it is scheduled; with
    `after` (ids of the tenant's tasks), it waits until all of them have succeeded."""
    kind = get_task_type(task_type)
    labels = list(labels or [])
    after = sorted(set(after or []))
    now = utc_now()
    when = {k: v for k, v in {"run_at": run_at, "delay_seconds": delay_seconds}.items() if v is not None}
    run_at = run_at_of(now, run_at, delay_seconds)
    task = Task(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        type=kind.name,
        payload=kind.validate_payload(payload).model_dump(mode="json"),
        priority=priority,
        labels=labels,
        status=TaskStatus.WAITING if after else waiting_status(run_at),
        run_at=run_at,
        after_ids=after or None,
        callback_url=callback_url,
        attempts=0,
        awaited=False,
        version=1,
        correlation_id=correlation_id,
        created_at=now,
        updated_at=now,
    )
    fingerprint = request_hash(task_type, payload, priority, labels, when, after, callback_url)
    key = IdempotencyKey(
        tenant_id=tenant_id, key=idempotency_key, request_hash=fingerprint, task_id=task.id, created_at=now
    )
    first_event = new_event(task, None, detail={"type": task.type}, correlation_id=correlation_id, at=now)
    message = None
    if not after:
        message = dispatch(task, correlation_id)
        message.created_at, message.attempts = now, 0
    return NewTask(task, key, first_event, message)


def save_task(connection: Connection, new: NewTask) -> Created:
    """Save a new pending task with its first event and its outbox message, in one atomic statement.

    `connection` must be in autocommit mode, so the statement commits as soon as it runs. If the tenant used the
    Idempotency-Key before for the same request, the original task is returned instead (IdempotencyKeyReused for
    another body).
    """
    if new.message is None:
        return save_waiting_task(connection, new)
    rows = (new.idempotency_key, new.task, new.first_event, new.message)
    if connection.execute(CREATE_TASK, _parameters(*rows)).first() is None:
        key = new.idempotency_key
        return Created(_replayed_task(connection, key.tenant_id, key.key, key.request_hash), created=False)
    log.info("task created", extra={"task_id": str(new.task.id), "type": new.task.type})
    return Created(new.task, created=True)


def save_waiting_task(connection: Connection, new: NewTask) -> Created:
    """Save a task that runs after others, in one transaction that locks its prerequisites and flags those not yet
    succeeded as awaited, so none finishes unseen: released at once if they have all succeeded, refused if one
    failed or was cancelled (PrerequisiteFailed), refused if one is not the tenant's (UnknownPrerequisite)."""
    task, key = new.task, new.idempotency_key
    read_committed = connection.execution_options(isolation_level="READ COMMITTED")
    with Session(read_committed, expire_on_commit=False) as session, session.begin():
        claimed = key.key is None or _claim_key(session, key)
        if claimed:
            write_waiting_task(session, new)
    if not claimed:
        return Created(_replayed_task(connection, key.tenant_id, key.key, key.request_hash), created=False)
    log.info("task created", extra={"task_id": str(task.id), "type": task.type, "after": len(task.after_ids)})
    return Created(task, created=True)


def write_waiting_task(session: Session, new: NewTask) -> None:
    """Write a task that runs after others in the session's transaction (see save_waiting_task), uncommitted."""
    task = new.task
    prerequisites = session.execute(
        select(Task.id, Task.status)
        .where(Task.id.in_(task.after_ids), Task.tenant_id == task.tenant_id)
        .order_by(Task.id)
        .with_for_update(key_share=True)
    ).all()
    statuses = dict(prerequisites)
    for after_id in task.after_ids:
        if after_id not in statuses:
            raise UnknownPrerequisite(after_id)
        if statuses[after_id] in (TaskStatus.FAILED, TaskStatus.CANCELLED):
            raise PrerequisiteFailed(after_id, statuses[after_id])
    session.add_all([task, new.first_event])
    session.flush()
    unfinished = [after_id for after_id, status in statuses.items() if status != TaskStatus.SUCCEEDED]
    if unfinished:
        # Their finish, even one already waiting for these rows, then settles this task (hot_paths.FINISH).
        session.execute(update(Task).where(Task.id.in_(unfinished), ~Task.awaited).values(awaited=True))
    else:
        release(session, task, task.correlation_id)


def _claim_key(session: Session, key: IdempotencyKey) -> bool:
    claimed = insert(IdempotencyKey).values(_parameters_of(key)).on_conflict_do_nothing().returning(IdempotencyKey.key)
    return session.execute(claimed).first() is not None


def _parameters_of(row: Base) -> dict:
    return {c.key: getattr(row, c.key) for c in _written_columns(type(row))}


def _replayed_task(connection: Connection, tenant_id: uuid.UUID, key: str, fingerprint: str) -> Task:
    with Session(connection) as session:
        previous = session.get_one(IdempotencyKey, (tenant_id, key))
        if previous.request_hash != fingerprint:
            raise IdempotencyKeyReused(key)
        task = session.get(Task, previous.task_id)
        if task is None:
            raise TaskNotFound(previous.task_id)  # the original task was deleted since
        return task
