"""The status changes every task goes through, as set-based statements: the relay's mark that a message was sent,
the consumer's claim and its finish.

`move_task` (transitions.py) is the general way a status changes, through ORM rows; at hundreds of tasks a second
its unit of work was most of the consumer's CPU (a py-spy profile: 60 % in SQLAlchemy's ORM, see bench/README.md).
These statements make the same change as `move_task` for the cases that are nearly all of the traffic (the same
transition check, version bump, timestamps and event), and say when they do not apply, so that the caller falls
back to the ORM path: a take-over, a stale or duplicate message, a retry, a finish that writes a webhook delivery
or settles tasks waiting for it. The claim and the finish are each a single statement, run outside any transaction
(one round trip). A statement's snapshot is taken when it starts, so a finish that waited for the row's lock would
not see a waiting task whose creation it waited for; it sees the row as updated, though, and that creation flagged
the row `awaited`, which sends the finish down the general path. A statement that waits for
its locks stamps its change with the time it took them (clock_timestamp() after the lock), not with a time read
before it started: otherwise a claim that waited for the relay's mark would be dated before it.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import Connection, Row, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY, INTERVAL, JSONB, UUID
from sqlalchemy.orm import Session

from taskflow.domain.states import TaskStatus, can_move, check_transition

# The row lock of the general path, and whether the claim of a running task may take it over.
LOCK = text(
    """SELECT lease_expires_at < now() AS lease_expired FROM tasks WHERE id = :task_id FOR UPDATE"""
).bindparams(bindparam("task_id", type_=UUID(as_uuid=True)))

# The statuses a task that has not run yet may be claimed from (a running one may only be taken over).
FIRST_CLAIMABLE = [status for status in TaskStatus if status != TaskStatus.RUNNING and can_move(status, "running")]
# One statement, so it needs no transaction around it: the lock, the move (only from a status a first claim may
# take, and only for a message at least as new as the task's latest dispatch), its event; nothing if it may not.
CLAIM = text(
    """WITH locked AS (SELECT id, status FROM tasks WHERE id = :task_id FOR UPDATE),
       stamped AS (SELECT id, status, clock_timestamp() AS now FROM locked),
       moved AS (
           UPDATE tasks SET status = :to_status, version = tasks.version + 1, attempts = tasks.attempts + 1,
                            started_at = stamped.now, updated_at = stamped.now, lease_expires_at = stamped.now + :lease
           FROM stamped
           WHERE tasks.id = stamped.id AND stamped.status = ANY(:claimable)
             AND tasks.dispatched_version <= :message_version
           RETURNING tasks.id, tasks.correlation_id, stamped.status AS from_status, stamped.now, tasks.type,
                     tasks.payload, tasks.attempts, tasks.version),
       event AS (
           INSERT INTO task_events (task_id, from_status, to_status, detail, correlation_id, created_at)
           SELECT id, from_status, :to_status, :detail, coalesce(:correlation_id, correlation_id), now FROM moved)
       SELECT id, type, payload, attempts, version FROM moved"""
).bindparams(
    bindparam("task_id", type_=UUID(as_uuid=True)),
    bindparam("claimable", type_=ARRAY(Text)),
    bindparam("detail", type_=JSONB),
    bindparam("lease", type_=INTERVAL),
)

# One statement, so it needs no transaction around it: only while this claim still holds the task, with no webhook
# to write and no task waiting for it (settling those is move_task's job). A finish that waited for the row's lock
# re-checks all of it on the row as updated: a waiting task created meanwhile has flagged it `awaited`.
FINISH = text(
    """WITH locked AS (
           SELECT id FROM tasks
           WHERE id = :task_id AND status = :from_status AND version = :version
             AND callback_url IS NULL AND NOT awaited
           FOR UPDATE),
       stamped AS (SELECT id, clock_timestamp() AS now FROM locked),
       moved AS (
           UPDATE tasks SET status = :to_status, result = coalesce(:result, result), error = coalesce(:error, error),
                            version = tasks.version + 1,
                            updated_at = stamped.now, finished_at = stamped.now, lease_expires_at = NULL
           FROM stamped WHERE tasks.id = stamped.id
           RETURNING tasks.id, tasks.correlation_id, stamped.now)
       INSERT INTO task_events (task_id, from_status, to_status, detail, correlation_id, created_at)
       SELECT id, :from_status, :to_status, :detail, coalesce(:correlation_id, correlation_id), now FROM moved
       RETURNING id"""
).bindparams(
    bindparam("task_id", type_=UUID(as_uuid=True)),
    bindparam("detail", type_=JSONB),
    bindparam("result", type_=JSONB(none_as_null=True)),
)


# Rows locked in id order, as find_tasks locks, so that two transactions locking overlapping sets never deadlock;
# the status is checked again on the row as updated, in case it changed while the lock was awaited.
MARK_QUEUED = text(
    """WITH locked AS (SELECT id FROM tasks WHERE id = ANY(:task_ids) AND status = :from_status ORDER BY id FOR UPDATE),
       stamped AS (SELECT clock_timestamp() AS now FROM (SELECT count(*) FROM locked) every_lock_taken),
       moved AS (
           UPDATE tasks SET status = :to_status, version = version + 1, updated_at = stamped.now
           FROM locked, stamped WHERE tasks.id = locked.id AND tasks.status = :from_status
           RETURNING tasks.id, tasks.correlation_id, stamped.now)
       INSERT INTO task_events (task_id, from_status, to_status, detail, correlation_id, created_at)
       SELECT id, :from_status, :to_status, :detail, correlation_id, now FROM moved"""
).bindparams(bindparam("task_ids", type_=ARRAY(UUID(as_uuid=True))), bindparam("detail", type_=JSONB))


@dataclass(frozen=True)
class Claimed:
    """What running a claimed task needs, and the version its finish must still find."""

    id: uuid.UUID
    type: str
    payload: dict
    attempts: int
    version: int


def mark_queued(session: Session, task_ids: list[uuid.UUID]) -> None:
    """Move those of these tasks still pending to queued: their message was sent (a fast consumer may already have
    claimed one, which then stays as it is)."""
    target = check_transition(TaskStatus.PENDING, TaskStatus.QUEUED)
    values = {"from_status": TaskStatus.PENDING, "to_status": target, "detail": {"published": True}}
    session.execute(MARK_QUEUED, {"task_ids": task_ids, **values})


def lock_task(session: Session, task_id: uuid.UUID) -> Row | None:
    """The task's row, locked for the rest of the transaction; None if there is no such task."""
    return session.execute(LOCK, {"task_id": task_id}).one_or_none()


def claim(
    connection: Connection,
    task_id: uuid.UUID,
    message_version: int,
    *,
    detail: dict,
    correlation_id: str | None,
    lease: timedelta,
) -> Claimed | None:
    """Move a task that has not run yet to running, under a lease of `lease` from now, if the message may take it;
    None otherwise (a take-over, a finished or unknown task, a stale message: decided by the caller)."""
    values = {
        "claimable": FIRST_CLAIMABLE,
        "to_status": TaskStatus.RUNNING,
        "detail": detail,
        "correlation_id": correlation_id,
    }
    row = connection.execute(
        CLAIM, {"task_id": task_id, "message_version": message_version, "lease": lease, **values}
    ).one_or_none()
    return Claimed(*row) if row else None


def finish(
    connection: Connection, claimed: Claimed, *, result: dict | None, error: str | None, correlation_id: str | None
) -> bool:
    """Store the success (`error` None) or failure of a task this claim still holds; False, with nothing written, if
    it does not (superseded), or if the finish has more to do: a webhook to write, tasks waiting for it."""
    target = check_transition(TaskStatus.RUNNING, TaskStatus.SUCCEEDED if error is None else TaskStatus.FAILED)
    values = {"from_status": TaskStatus.RUNNING, "to_status": target, "correlation_id": correlation_id}
    detail = {} if error is None else {"error": error}
    moved = connection.execute(FINISH, {"task_id": claimed.id, "version": claimed.version, "result": result,
                                        "error": error, "detail": detail, **values})  # fmt: skip
    return moved.first() is not None
