"""Task statuses and the one function that decides which status changes are legal."""

from enum import StrEnum

from taskflow.domain.errors import IllegalTransition


class TaskStatus(StrEnum):
    """Where a task is in its life."""

    WAITING = "waiting"  # runs after other tasks (`after`): no message until every one of them has succeeded
    SCHEDULED = "scheduled"  # to run at its run_at, not before: its message waits in the outbox or in SQS
    PENDING = "pending"  # saved with its outbox message; the relay has not sent it yet
    QUEUED = "queued"  # the message is in SQS
    RUNNING = "running"  # a consumer claimed it and runs its function
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    CANCELLED = "cancelled"


FINISHED = frozenset({TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED})
# Not started yet: may still be changed (PATCH) or cancelled.
NOT_STARTED = frozenset({TaskStatus.WAITING, TaskStatus.SCHEDULED, TaskStatus.PENDING, TaskStatus.QUEUED})

_ALLOWED: dict[TaskStatus, frozenset[TaskStatus]] = {
    # waiting -> pending (or scheduled, if its run_at is still ahead): the last task it runs after succeeded.
    # waiting -> cancelled: by its owner, or because a task it runs after failed or was cancelled.
    TaskStatus.WAITING: frozenset({TaskStatus.PENDING, TaskStatus.SCHEDULED, TaskStatus.CANCELLED}),
    # scheduled stays scheduled until its message, delayed until run_at, is claimed: scheduled -> running.
    # scheduled -> pending, and pending/queued -> scheduled: its run_at was changed before it ran.
    TaskStatus.SCHEDULED: frozenset({TaskStatus.RUNNING, TaskStatus.PENDING, TaskStatus.CANCELLED, TaskStatus.FAILED}),
    # pending -> running: SQS may deliver the message before the relay has recorded that it sent it.
    # pending/queued -> failed: its message was dead-lettered, so it will never run.
    TaskStatus.PENDING: frozenset(
        {TaskStatus.QUEUED, TaskStatus.SCHEDULED, TaskStatus.RUNNING, TaskStatus.CANCELLED, TaskStatus.FAILED}
    ),
    TaskStatus.QUEUED: frozenset({TaskStatus.RUNNING, TaskStatus.SCHEDULED, TaskStatus.CANCELLED, TaskStatus.FAILED}),
    # running -> running: a redelivery takes over a task whose consumer died (its lease expired).
    TaskStatus.RUNNING: frozenset({TaskStatus.RUNNING, TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.QUEUED}),
    TaskStatus.SUCCEEDED: frozenset(),
    TaskStatus.FAILED: frozenset({TaskStatus.QUEUED}),
    TaskStatus.CANCELLED: frozenset(),
}


def check_transition(current: TaskStatus | str, target: TaskStatus | str) -> TaskStatus:
    """Return `target` as a status if a task in `current` may move to it; raise IllegalTransition otherwise."""
    current, target = TaskStatus(current), TaskStatus(target)
    if target not in _ALLOWED[current]:
        raise IllegalTransition(current, target)
    return target


def can_move(current: TaskStatus | str, target: TaskStatus | str) -> bool:
    """True if a task in `current` may move to `target`."""
    return TaskStatus(target) in _ALLOWED[TaskStatus(current)]


def is_finished(status: TaskStatus | str) -> bool:
    """True once a task can no longer run."""
    return TaskStatus(status) in FINISHED
