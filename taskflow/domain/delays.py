"""Delayed tasks: a task may say when it runs (run_at) or how long from now (delay_seconds); until then it is
`scheduled`. SQS delays a message by at most 15 minutes, so a task due later waits in the outbox until then."""

from datetime import datetime, timedelta

from taskflow.domain.errors import InvalidTaskRequest
from taskflow.domain.states import TaskStatus

# SQS's largest DelaySeconds: the relay publishes a delayed task's message this long before it is due, at most.
SQS_MAX_DELAY_SECONDS = 900
# The furthest ahead a task may be scheduled: a year and a day.
MAX_DELAY = timedelta(days=366)


def run_at_of(now: datetime, run_at: datetime | None = None, delay_seconds: int | None = None) -> datetime | None:
    """When a task is to run: at `run_at`, or `delay_seconds` from `now`; None for at once."""
    if run_at is not None and delay_seconds is not None:
        raise InvalidTaskRequest("give run_at or delay_seconds, not both")
    if delay_seconds is not None:
        run_at = now + timedelta(seconds=delay_seconds)
    if run_at is not None and run_at - now > MAX_DELAY:
        raise InvalidTaskRequest(f"a task may be scheduled at most {MAX_DELAY.days} days ahead")
    return run_at if run_at is not None and run_at > now else None


def waiting_status(run_at: datetime | None) -> TaskStatus:
    """The status of a task not started yet: scheduled while it has a run_at, else pending."""
    return TaskStatus.SCHEDULED if run_at is not None else TaskStatus.PENDING
