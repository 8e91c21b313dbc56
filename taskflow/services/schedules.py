"""Recurring schedules: a tenant's schedules, and the relay's firing of the due ones.

Firing locks the due schedules FOR UPDATE SKIP LOCKED, so relays side by side share them out; each occurrence
becomes a task through the outbox like any other, in the same transaction that moves the schedule on, and the
unique index on (schedule, occurrence) makes a second task for one occurrence impossible however the relays race.
On AWS the relay on ECS fires them: there is no extra service.
"""

import logging
import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Schedule, Task
from taskflow.domain.errors import PreconditionFailed, ScheduleNotFound, TooManySchedules
from taskflow.domain.schedules import MissedPolicy, Recurrence, fire
from taskflow.services.creation import new_task
from taskflow.task_types import get_task_type

log = logging.getLogger("taskflow.schedules")
# A tenant's schedules, at most: a hostile or careless tenant cannot make the relays fire without bound.
MAX_SCHEDULES_PER_TENANT = 100
# What a client may set on a schedule; the rest (next run, version, timestamps) is the system's.
SETTABLE = ("task_type", "payload", "priority", "labels", "cron", "timezone", "interval_seconds", "missed")


def recurrence_of(schedule: Schedule) -> Recurrence:
    """The schedule's recurrence (validated again: a row is only ever written from a valid one)."""
    return Recurrence(cron=schedule.cron, timezone=schedule.timezone, interval_seconds=schedule.interval_seconds)


def create_schedule(session: Session, *, tenant_id: uuid.UUID, fields: dict) -> Schedule:
    """A new schedule, validated (InvalidTaskRequest, UnknownTaskType, TooManySchedules); its first occurrence is
    the next after now."""
    count = select(func.count()).select_from(Schedule).where(Schedule.tenant_id == tenant_id)
    if session.scalar(count) >= MAX_SCHEDULES_PER_TENANT:
        raise TooManySchedules(MAX_SCHEDULES_PER_TENANT)
    schedule = Schedule(id=uuid.uuid4(), tenant_id=tenant_id, paused=fields.pop("paused", False))
    _apply(schedule, fields)
    schedule.next_run_at = recurrence_of(schedule).first_after(utc_now())
    session.add(schedule)
    session.commit()
    return schedule


def _apply(schedule: Schedule, fields: dict) -> None:
    for name in SETTABLE:
        if name in fields:
            setattr(schedule, name, fields[name])
    schedule.timezone = schedule.timezone or "UTC"
    schedule.missed = MissedPolicy(schedule.missed or MissedPolicy.SKIP).value
    schedule.priority = schedule.priority or 0
    schedule.labels = list(schedule.labels or [])
    kind = get_task_type(schedule.task_type)
    schedule.payload = kind.validate_payload(schedule.payload or {}).model_dump(mode="json")
    recurrence_of(schedule)  # InvalidTaskRequest for a bad cron expression, time zone or interval


def tenant_schedule(session: Session, tenant_id: uuid.UUID, schedule_id: uuid.UUID, *, lock: bool = False) -> Schedule:
    """The tenant's schedule; ScheduleNotFound otherwise, another tenant's included."""
    query = select(Schedule).where(Schedule.id == schedule_id, Schedule.tenant_id == tenant_id)
    schedule = session.scalars(query.with_for_update() if lock else query).one_or_none()
    if schedule is None:
        raise ScheduleNotFound(schedule_id)
    return schedule


def list_schedules(session: Session, *, tenant_id: uuid.UUID) -> list[Schedule]:
    """The tenant's schedules, oldest first."""
    query = select(Schedule).where(Schedule.tenant_id == tenant_id).order_by(Schedule.created_at, Schedule.id)
    return list(session.scalars(query))


def update_schedule(
    session: Session, *, tenant_id: uuid.UUID, schedule_id: uuid.UUID, expected_version: int | None, changes: dict
) -> Schedule:
    """Change a schedule (PreconditionFailed if it is no longer at `expected_version`); pausing stops it firing,
    resuming starts again from the next occurrence after now (what it missed while paused does not run)."""
    schedule = tenant_schedule(session, tenant_id, schedule_id, lock=True)
    if expected_version is not None and expected_version != schedule.version:
        raise PreconditionFailed(f"the schedule is at version {schedule.version}, not {expected_version}")
    resumed = schedule.paused and changes.get("paused") is False
    if "paused" in changes:
        schedule.paused = changes.pop("paused")
    recurrence = (schedule.cron, schedule.timezone, schedule.interval_seconds)
    if "cron" in changes:
        schedule.interval_seconds = None
    if "interval_seconds" in changes:
        schedule.cron = None
    _apply(schedule, changes)
    if resumed or recurrence != (schedule.cron, schedule.timezone, schedule.interval_seconds):
        schedule.next_run_at = recurrence_of(schedule).first_after(utc_now())
    schedule.version += 1
    schedule.updated_at = utc_now()
    session.commit()
    return schedule


def delete_schedule(session: Session, *, tenant_id: uuid.UUID, schedule_id: uuid.UUID) -> None:
    """Delete a schedule; the tasks it made stay, no longer linked to it."""
    session.delete(tenant_schedule(session, tenant_id, schedule_id, lock=True))
    session.commit()


@dataclass(frozen=True)
class Fired:
    """What one firing did: tasks created, whether more schedules may be due than it took, and when the next
    active schedule is due (None: none is)."""

    created: int
    more_due: bool
    next_due_at: datetime | None


def fire_due_schedules(session: Session, *, limit: int = 100) -> Fired:
    """Create the tasks of every due occurrence of up to `limit` due schedules, and move each schedule on."""
    now = session.scalar(select(func.now()))
    due = session.scalars(
        select(Schedule)
        .where(Schedule.paused.is_(False), Schedule.next_run_at <= now)
        .order_by(Schedule.next_run_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    ).all()
    created = 0
    for schedule in due:
        try:
            with session.begin_nested():
                created += _fire_one(session, schedule, now)
        except Exception:  # one broken schedule must stop neither the others nor the relay
            # It no longer validates (its task type was removed, its payload model tightened): paused, so that its
            # owner sees it and fixes it, instead of it failing every pass.
            log.exception("a schedule could not fire; paused", extra={"schedule_id": str(schedule.id)})
            schedule.paused = True
    session.commit()
    next_due = session.scalar(select(func.min(Schedule.next_run_at)).where(Schedule.paused.is_(False)))
    session.rollback()
    return Fired(created, len(due) == limit, next_due)


def _fire_one(session: Session, schedule: Schedule, now: datetime) -> int:
    firing = fire(recurrence_of(schedule), MissedPolicy(schedule.missed), schedule.next_run_at, now)
    created = sum(_create_occurrence(session, schedule, occurrence) for occurrence in firing.occurrences)
    schedule.next_run_at = firing.next_run_at
    return created


def _create_occurrence(session: Session, schedule: Schedule, occurrence: datetime) -> bool:
    """The task of one occurrence, with its first event and outbox message; False if it exists already."""
    new = new_task(
        tenant_id=schedule.tenant_id,
        task_type=schedule.task_type,
        payload=schedule.payload,
        priority=schedule.priority,
        labels=schedule.labels,
        correlation_id=f"schedule-{schedule.id}-{occurrence:%Y%m%dT%H%M%SZ}",
    )
    new.task.schedule_id, new.task.occurrence_at = schedule.id, occurrence
    claimed = session.execute(
        insert(Task)
        .values({c.key: getattr(new.task, c.key) for c in Task.__table__.columns})
        .on_conflict_do_nothing(index_elements=[Task.schedule_id, Task.occurrence_at],
                                index_where=Task.schedule_id.is_not(None))
        .returning(Task.id)
    ).first()  # fmt: skip
    if claimed is None:
        log.warning("occurrence already has its task", extra={"schedule_id": str(schedule.id)})
        return False
    session.add_all([new.first_event, new.message])
    return True
