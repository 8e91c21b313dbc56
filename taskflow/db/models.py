"""SQLAlchemy models for tasks, their transition history and the transactional outbox."""

import uuid
from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    SmallInteger,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from taskflow.domain.messages import MAX_CORRELATION_ID
from taskflow.domain.states import TaskStatus

# Stable constraint names, so Alembic migrations can refer to them.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _now() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), server_default=func.now(), nullable=False)


class Tenant(Base):
    """An organisation using the API; every task belongs to exactly one."""

    __tablename__ = "tenants"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    created_at: Mapped[datetime] = _now()


class ApiKey(Base):
    """A tenant's credential. Only a hash of the key is stored; the key itself is shown once, at creation."""

    __tablename__ = "api_keys"

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    prefix: Mapped[str] = mapped_column(String(20))  # the first characters, to tell keys apart in listings
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = _now()
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Task(Base):
    """A unit of work and its outcome."""

    __tablename__ = "tasks"
    __table_args__ = (
        # One index per documented listing filter, each ending in the keyset (created_at, id).
        Index("ix_tasks_tenant_created_at_id", "tenant_id", "created_at", "id"),
        Index("ix_tasks_tenant_status_created_at_id", "tenant_id", "status", "created_at", "id"),
        Index("ix_tasks_tenant_type_created_at_id", "tenant_id", "type", "created_at", "id"),
        Index("ix_tasks_labels", "labels", postgresql_using="gin"),
        # The oldest queued task, for /metrics: a small index, as few tasks wait at any moment.
        Index("ix_tasks_queued_updated_at", "updated_at", postgresql_where=text("status = 'queued'")),
        # Finished tasks by when they finished, for the relay's pruning (taskflow.services.retention).
        Index("ix_tasks_finished_at_id", "finished_at", "id", postgresql_where=text("finished_at IS NOT NULL")),
        # Running tasks whose claim expired, for the relay's sweep: as small as the number of running tasks.
        Index("ix_tasks_running_lease_expires_at", "lease_expires_at", postgresql_where=text("status = 'running'")),
        CheckConstraint(f"status IN ({', '.join(repr(s.value) for s in TaskStatus)})", name="status_known"),
        # The waiting tasks that run after a given one, found when it finishes: holds waiting tasks only, so a
        # finish looks into an index as small as the number of tasks waiting right now.
        Index(
            "ix_tasks_waiting_after_ids",
            "after_ids",
            postgresql_using="gin",
            postgresql_where=text("status = 'waiting'"),
        ),  # fmt: skip
        # One task per occurrence of a schedule, however many relays fire it.
        Index(
            "ux_tasks_schedule_occurrence",
            "schedule_id",
            "occurrence_at",
            unique=True,
            postgresql_where=text("schedule_id IS NOT NULL"),
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSONB)
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    labels: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    result: Mapped[dict | None] = mapped_column(JSONB)
    error: Mapped[str | None] = mapped_column(Text)
    # Optimistic-concurrency version: bumped by every change, exposed as the ETag.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    # The version named by the task's latest message; a message naming an older one is stale and is dropped.
    dispatched_version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    correlation_id: Mapped[str] = mapped_column(String(MAX_CORRELATION_ID))
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # While running: when the claim ends (the claiming invocation's deadline plus a margin). After that the
    # consumer is presumed dead, and a redelivery or the relay's sweep may take the task over.
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # When a delayed task is to run (None: at once); it is `scheduled` until then.
    run_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A task a recurring schedule made: which schedule, and which of its occurrences (one task per occurrence).
    schedule_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("schedules.id", ondelete="SET NULL"))
    occurrence_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # The tenant's tasks this one runs after (None: none); it is `waiting` until all of them have succeeded.
    after_ids: Mapped[list[uuid.UUID] | None] = mapped_column(ARRAY(UUID(as_uuid=True)))
    # Whether a waiting task names this one in its after_ids (set when that task is created, never cleared): its
    # finish then takes the general path, which settles the tasks waiting for it (hot_paths.FINISH).
    awaited: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Where a signed POST goes when the task finishes (taskflow.domain.webhooks); None: nowhere.
    callback_url: Mapped[str | None] = mapped_column(Text)


class Schedule(Base):
    """A recurring task: every occurrence of its cron expression (in its time zone) or interval becomes one task."""

    __tablename__ = "schedules"
    __table_args__ = (
        # The relay's look for due schedules: the active ones, by when they are due.
        Index("ix_schedules_due", "next_run_at", postgresql_where=text("NOT paused")),
        CheckConstraint("(cron IS NULL) <> (interval_seconds IS NULL)", name="cron_or_interval"),
    )

    id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True, default=uuid.uuid4)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), index=True)
    task_type: Mapped[str] = mapped_column(String(100))
    payload: Mapped[dict] = mapped_column(JSONB)
    priority: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    labels: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    cron: Mapped[str | None] = mapped_column(String(200))
    timezone: Mapped[str] = mapped_column(String(64), default="UTC", server_default="UTC")
    interval_seconds: Mapped[int | None] = mapped_column(Integer)
    missed: Mapped[str] = mapped_column(String(20), default="skip", server_default="skip")
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    next_run_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    created_at: Mapped[datetime] = _now()
    updated_at: Mapped[datetime] = _now()


class IdempotencyKey(Base):
    """A client's Idempotency-Key for a create: the same key and body replay the first task instead of adding one."""

    __tablename__ = "idempotency_keys"
    # Keys by age, for the relay's pruning (taskflow.services.retention).
    __table_args__ = (Index("ix_idempotency_keys_created_at", "created_at"),)

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    task_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True))
    created_at: Mapped[datetime] = _now()


class TaskEvent(Base):
    """One status change of a task: the whole history of a task is its events in id order."""

    __tablename__ = "task_events"
    # Events are appended in time order: a BRIN index finds the last minutes' (the dashboard's history) for the cost
    # of a summary per block range, not an entry per event.
    __table_args__ = (Index("ix_task_events_created_at", "created_at", postgresql_using="brin"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    detail: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    correlation_id: Mapped[str | None] = mapped_column(String(MAX_CORRELATION_ID))
    created_at: Mapped[datetime] = _now()


class OutboxMessage(Base):
    """A queue message written in the same transaction as the change it announces; the relay sends it."""

    __tablename__ = "outbox"
    __table_args__ = (
        # The relay only ever scans unpublished rows: keep that index tiny.
        Index("ix_outbox_unpublished", "id", postgresql_where=text("published_at IS NULL")),
        # Delayed messages wait here until 15 minutes before they are due (SQS delays the rest).
        Index("ix_outbox_unpublished_due_at", "due_at", postgresql_where=text("published_at IS NULL")),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    attributes: Mapped[dict] = mapped_column(JSONB, default=dict, server_default=text("'{}'::jsonb"))
    created_at: Mapped[datetime] = _now()
    published_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempts: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    last_error: Mapped[str | None] = mapped_column(Text)
    # When the message may be delivered (a delayed task's run_at); None: at once.
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class DeadLetter(Base):
    """A message SQS gave up on (moved to the dead-letter queue), kept as a row so every tenant reads its own.

    The relay's sweep receives each message from the dead-letter queue, records it here and deletes it there.
    `task_id` and `tenant_id` are None for a body that names no task: only an operator sees those.
    """

    __tablename__ = "dead_letters"
    __table_args__ = (Index("ix_dead_letters_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    message_id: Mapped[str] = mapped_column(String(100), unique=True)
    tenant_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tenants.id"))
    task_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)
    receive_count: Mapped[int] = mapped_column(Integer)
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_failure_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    recorded_at: Mapped[datetime] = _now()


class WebhookSettings(Base):
    """A tenant's webhooks: the secret that signs them and the hosts its callback URLs may name."""

    __tablename__ = "webhook_settings"

    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    secret: Mapped[str] = mapped_column(Text)
    allowed_hosts: Mapped[list[str]] = mapped_column(ARRAY(Text), default=list, server_default=text("'{}'"))
    updated_at: Mapped[datetime] = _now()


class WebhookDelivery(Base):
    """One webhook: written with the task's finish (an outbox of its own), sent by the relay until the receiver
    answers 2xx or the attempts run out. Its id is the webhook-id every attempt carries."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        # The relay's scan: pending deliveries by when they are next due; holds the pending ones only.
        Index("ix_webhook_deliveries_pending_due", "next_attempt_at", postgresql_where=text("status = 'pending'")),
        # Settled deliveries by age, for the relay's pruning (taskflow.services.retention).
        Index("ix_webhook_deliveries_settled_created_at", "created_at", postgresql_where=text("status <> 'pending'")),
        # A tenant's deliveries by status, for /stats.
        Index("ix_webhook_deliveries_tenant_id_status", "tenant_id", "status"),
        CheckConstraint("status IN ('pending', 'delivered', 'failed')", name="status_known"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    tenant_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tenants.id"))
    task_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(Text)  # the exact bytes signed and sent, the same on every attempt
    status: Mapped[str] = mapped_column(String(20))
    attempts: Mapped[int] = mapped_column(Integer)
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ConsumerEnvironment(Base):
    """One execution environment of the consumer (on AWS, one log stream): what it has done, and what it does now."""

    __tablename__ = "consumer_environments"
    __table_args__ = (Index("ix_consumer_environments_last_seen_at", "last_seen_at"),)

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    started_at: Mapped[datetime] = _now()
    last_seen_at: Mapped[datetime] = _now()
    invocations: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    records: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    failed_records: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    # Records in the invocation running now (0: idle), since when, and until when it may run (its deadline): a batch
    # past its deadline died with its environment (killed, timed out, stopped) and never reported its end.
    current_batch: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    busy_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    busy_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
