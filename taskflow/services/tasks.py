"""Creating, reading and listing tasks: what the API does, without any HTTP in it."""

import hashlib
import json
import logging
import uuid
from dataclasses import dataclass

from sqlalchemy import String, bindparam, select, text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from taskflow.clock import utc_now
from taskflow.db.models import IdempotencyKey, Task, TaskEvent
from taskflow.domain.errors import IdempotencyKeyReused, TaskNotFound
from taskflow.domain.states import TaskStatus
from taskflow.services.outbox import OUTBOX_CHANNEL, dispatch_message
from taskflow.task_types import get_task_type

log = logging.getLogger("taskflow.tasks")

# The API's hot path, in one statement and so one round trip: the task, its first event and the outbox
# message that dispatches it are written atomically (a single statement needs no enclosing transaction),
# and the relay is notified when the statement commits.
# With an Idempotency-Key, the key is claimed first, in the same statement: the task is only written if this
# request claimed the key. A concurrent request with the same key waits on the key's unique index until the
# first commits, then claims nothing and writes nothing.
INSERT_TASK_WITH_MESSAGE = text(f"""
WITH claimed_key AS (
    INSERT INTO idempotency_keys (tenant_id, key, request_hash, task_id, created_at)
    SELECT :tenant_id, :idempotency_key, :request_hash, :id, :now WHERE :idempotency_key IS NOT NULL
    ON CONFLICT (tenant_id, key) DO NOTHING
    RETURNING task_id
), task AS (
    INSERT INTO tasks (id, tenant_id, type, payload, priority, labels, status, attempts, version, correlation_id,
                       created_at, updated_at)
    SELECT :id, :tenant_id, :type, CAST(:payload AS jsonb), :priority, :labels, :status, 0, 1, :correlation_id,
           :now, :now
    WHERE :idempotency_key IS NULL OR EXISTS (SELECT 1 FROM claimed_key)
    RETURNING id
), first_event AS (
    INSERT INTO task_events (task_id, from_status, to_status, detail, correlation_id, created_at)
    SELECT id, NULL, :status, CAST(:event_detail AS jsonb), :correlation_id, :now FROM task
), message AS (
    INSERT INTO outbox (task_id, body, attributes, created_at)
    SELECT id, :message_body, CAST(:message_attributes AS jsonb), :now FROM task
)
SELECT pg_notify('{OUTBOX_CHANNEL}', '') FROM task
""").bindparams(bindparam("idempotency_key", type_=String))


@dataclass(frozen=True)
class Created:
    """The task a create request stands for, and whether this request created it (False: an idempotent replay)."""

    task: Task
    created: bool


def request_hash(task_type: str, payload: dict, priority: int, labels: list[str]) -> str:
    """A fingerprint of a create request, to tell a replay from a different request reusing a key."""
    canonical = json.dumps([task_type, payload, priority, labels], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


async def create_task(
    *,
    database: AsyncEngine,
    tenant_id: uuid.UUID,
    task_type: str,
    payload: dict,
    correlation_id: str,
    priority: int = 0,
    labels: list[str] | None = None,
    idempotency_key: str | None = None,
) -> Created:
    """Validate and save a new pending task together with its outbox message, in one atomic statement.

    `database` must be in autocommit mode, so the statement commits as soon as it runs; no connection is
    taken from its pool until the payload has passed validation. With an `idempotency_key` the tenant used
    before for the same request, the original task is returned instead (IdempotencyKeyReused for another body).
    """
    kind = get_task_type(task_type)
    labels = list(labels or [])
    now = utc_now()
    task = Task(
        id=uuid.uuid4(),
        tenant_id=tenant_id,
        type=kind.name,
        payload=kind.validate_payload(payload).model_dump(mode="json"),
        priority=priority,
        labels=labels,
        status=TaskStatus.PENDING,
        attempts=0,
        version=1,
        correlation_id=correlation_id,
        created_at=now,
        updated_at=now,
    )
    fingerprint = request_hash(task_type, payload, priority, labels)
    message = dispatch_message(task, correlation_id)
    async with database.connect() as connection:
        written = await connection.execute(
            INSERT_TASK_WITH_MESSAGE,
            {
                "id": task.id,
                "tenant_id": tenant_id,
                "idempotency_key": idempotency_key,
                "request_hash": fingerprint,
                "type": task.type,
                "payload": json.dumps(task.payload),
                "priority": task.priority,
                "labels": task.labels,
                "status": task.status,
                "correlation_id": correlation_id,
                "now": now,
                "event_detail": json.dumps({"type": task.type}),
                "message_body": message.body,
                "message_attributes": json.dumps(message.attributes),
            },
        )
        if written.first() is None:
            return Created(await _replayed_task(connection, tenant_id, idempotency_key, fingerprint), created=False)
    log.info("task created", extra={"task_id": str(task.id), "type": task.type})
    return Created(task, created=True)


async def _replayed_task(connection, tenant_id: uuid.UUID, key: str, fingerprint: str) -> Task:
    previous = (
        await connection.execute(
            select(IdempotencyKey.request_hash, IdempotencyKey.task_id).where(
                IdempotencyKey.tenant_id == tenant_id, IdempotencyKey.key == key
            )
        )
    ).one()
    if previous.request_hash != fingerprint:
        raise IdempotencyKeyReused(key)
    task = (await connection.execute(select(Task).where(Task.id == previous.task_id))).one_or_none()
    if task is None:
        raise TaskNotFound(previous.task_id)  # the original task was deleted since
    return Task(**task._mapping)


async def get_task(*, session: AsyncSession, tenant_id: uuid.UUID, task_id: uuid.UUID) -> Task:
    """The tenant's task with this id; TaskNotFound otherwise, including for another tenant's task."""
    task = await session.scalar(select(Task).where(Task.id == task_id, Task.tenant_id == tenant_id))
    if task is None:
        raise TaskNotFound(task_id)
    return task


async def get_task_events(*, session: AsyncSession, task_id: uuid.UUID) -> list[TaskEvent]:
    """A task's status changes, oldest first."""
    return list(await session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id)))
