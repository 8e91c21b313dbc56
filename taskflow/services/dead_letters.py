"""Dead letters: the messages SQS gave up on, kept as rows so that each tenant reads its own.

The relay's sweep receives every message in the dead-letter queue, records it here (failing its task, unless
the task was dispatched again since the message was sent) and only then deletes it from the queue; a crash in
between records it again, once, since the message id is unique. Nobody reads the queue itself, so no reader
can hide a letter from another. Redrive dispatches the task again through the outbox, with a new version.
"""

import uuid
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from taskflow.db.models import DeadLetter, Task, TaskEvent
from taskflow.domain.errors import MalformedMessage
from taskflow.domain.messages import TaskMessage
from taskflow.domain.states import TaskStatus
from taskflow.services.dispatching import enqueue
from taskflow.services.transitions import find_tasks, move_task

WAITING = frozenset({TaskStatus.SCHEDULED, TaskStatus.PENDING, TaskStatus.QUEUED})


@dataclass(frozen=True)
class ReceivedLetter:
    """A message as received from the dead-letter queue."""

    message_id: str
    body: str
    receive_count: int  # deliveries before SQS gave up on it
    sent_at: datetime


@dataclass(frozen=True)
class DeadLetterView:
    """A recorded dead letter and its task's type and status now (None for a body that names no task)."""

    id: int
    message_id: str
    task_id: uuid.UUID | None
    task_type: str | None
    status: str | None
    receive_count: int
    sent_at: datetime
    first_failure_at: datetime | None
    last_failure_at: datetime | None
    last_error: str | None
    body: str


def record_dead_letters(session: Session, letters: list[ReceivedLetter]) -> list[Task]:
    """Record the letters, failing each waiting task whose current dispatch was dead-lettered; return those.

    A letter older than its task's latest dispatch (the task was retried or requeued since) is recorded too,
    but leaves the task alone, as does a letter for a running task (its lease decides what becomes of it).
    Commits; the caller deletes the messages from the queue afterwards.
    """
    messages = {letter.message_id: _task_message(letter.body) for letter in letters}
    named = {m.task_id for m in messages.values() if m is not None}
    tasks = {t.id: t for t in find_tasks(session, named, lock=True)}
    failures = _failure_times(session, set(tasks))
    failed = []
    for letter in letters:
        message = messages[letter.message_id]
        task = tasks.get(message.task_id) if message else None
        last_error = (task.error if task else None) or (None if message else "not a task message")
        _insert_letter(session, letter, task, failures.get(task.id, (None, None)) if task else (None, None), last_error)
        if task is not None and task.status in WAITING and message.version >= task.dispatched_version:
            _fail_dead_lettered(session, task, letter, last_error)
            failed.append(task)
    session.commit()
    return failed


def _task_message(body: str) -> TaskMessage | None:
    try:
        return TaskMessage.from_body(body)
    except MalformedMessage:
        return None


def _failure_times(session: Session, task_ids: set[uuid.UUID]) -> dict[uuid.UUID, tuple[datetime, datetime]]:
    # Every delivery of a dead-lettered message failed: the task's first run is the first failure, and its last
    # run, or last recorded error, the last one. (A task refused every time, as busy, never ran: None.)
    runs = TaskEvent.to_status == TaskStatus.RUNNING
    query = (
        select(
            TaskEvent.task_id,
            func.min(TaskEvent.created_at).filter(runs),
            func.max(TaskEvent.created_at).filter(runs | TaskEvent.detail.has_key("error")),
        )
        .where(TaskEvent.task_id.in_(task_ids))
        .group_by(TaskEvent.task_id)
    )
    return {task_id: (first, last) for task_id, first, last in session.execute(query)} if task_ids else {}


def _insert_letter(
    session: Session,
    letter: ReceivedLetter,
    task: Task | None,
    failures: tuple[datetime | None, datetime | None],
    error: str | None,
) -> None:
    values = {
        "message_id": letter.message_id,
        "tenant_id": task.tenant_id if task else None,
        "task_id": task.id if task else None,
        "body": letter.body,
        "receive_count": letter.receive_count,
        "sent_at": letter.sent_at,
        "first_failure_at": failures[0],
        "last_failure_at": failures[1],
        "last_error": error,
    }
    session.execute(insert(DeadLetter).values(values).on_conflict_do_nothing(index_elements=["message_id"]))


def _fail_dead_lettered(session: Session, task: Task, letter: ReceivedLetter, last_error: str | None) -> None:
    deliveries = f"{letter.receive_count} deliver{'y' if letter.receive_count == 1 else 'ies'}"
    task.error = f"dead-lettered: its message failed {deliveries}"
    if last_error:
        task.error += f"; last error: {last_error}"
    move_task(session, task, TaskStatus.FAILED, detail={"reason": "dead-lettered", "error": task.error})


@dataclass(frozen=True)
class DeadLetterListing:
    """Dead letters, newest first, and where the next page starts (None on the last page)."""

    letters: list[DeadLetterView]
    next_before: int | None


def list_dead_letters(
    session: Session,
    *,
    tenant_id: uuid.UUID | None,
    limit: int,
    before_id: int | None = None,
    task_id: uuid.UUID | None = None,
) -> DeadLetterListing:
    """The newest dead letters with an id below `before_id` (of one task, with `task_id`): the tenant's, or every
    letter (bodies naming no task too) when `tenant_id` is None, as only an operator may ask."""
    query = (
        select(DeadLetter, Task.type, Task.status)
        .outerjoin(Task, Task.id == DeadLetter.task_id)
        .order_by(DeadLetter.id.desc())
        .limit(limit + 1)
    )
    if tenant_id is not None:
        query = query.where(DeadLetter.tenant_id == tenant_id)
    if before_id is not None:
        query = query.where(DeadLetter.id < before_id)
    if task_id is not None:
        query = query.where(DeadLetter.task_id == task_id)
    views = [_view(letter, task_type, status) for letter, task_type, status in session.execute(query)]
    page = views[:limit]
    return DeadLetterListing(page, page[-1].id if len(views) > limit else None)


def _view(letter: DeadLetter, task_type: str | None, status: str | None) -> DeadLetterView:
    return DeadLetterView(
        letter.id,
        letter.message_id,
        letter.task_id,
        task_type,
        status,
        letter.receive_count,
        letter.sent_at,
        letter.first_failure_at,
        letter.last_failure_at,
        letter.last_error,
        letter.body,
    )


def redrive_dead_letters(
    session: Session, tenant_id: uuid.UUID | None, task_ids: set[uuid.UUID] | None = None
) -> list[uuid.UUID]:
    """Dispatch the failed tasks among the letters again (attempts start over) and remove their letters.

    The tenant's letters (every tenant's when `tenant_id` is None), or only those of `task_ids`. A letter whose
    task is no longer failed (it was retried since, say) is removed too: it has nothing left to tell.
    Letters naming no task stay: only an operator can discard them. Returns the ids of the dispatched tasks.
    """
    query = select(DeadLetter.id, DeadLetter.task_id).where(DeadLetter.task_id.is_not(None)).with_for_update()
    if tenant_id is not None:
        query = query.where(DeadLetter.tenant_id == tenant_id)
    if task_ids is not None:
        query = query.where(DeadLetter.task_id.in_(task_ids))
    letters = session.execute(query).all()
    dispatched = []
    for task in find_tasks(session, {task_id for _, task_id in letters}, lock=True):
        if task.status == TaskStatus.FAILED:
            detail = {"redrive": True, "previous_attempts": task.attempts, "previous_error": task.error}
            move_task(session, task, TaskStatus.QUEUED, detail=detail)
            task.attempts, task.error, task.finished_at = 0, None, None
            enqueue(session, task, task.correlation_id)
            dispatched.append(task.id)
    session.execute(delete(DeadLetter).where(DeadLetter.id.in_([letter_id for letter_id, _ in letters])))
    session.commit()
    return dispatched


def discard_dead_letters(session: Session, letter_ids: list[int]) -> int:
    """Delete these letters (an operator's call, for bodies naming no task); return how many were deleted."""
    deleted = session.execute(delete(DeadLetter).where(DeadLetter.id.in_(letter_ids))).rowcount
    session.commit()
    return deleted
