"""Recurring schedules: when each occurrence falls, and which ones become tasks.

A schedule fires on a cron expression in a time zone, or every `interval_seconds`. Each occurrence becomes at most
one task (a unique constraint on schedule and occurrence time holds that, whatever the relays do). An occurrence
found more than GRACE late (nothing ran: every relay was down) was missed; the schedule's policy says what then:
`skip` drops the missed ones, `run_once` runs one task for all of them. Either way the schedule moves on to its
next occurrence after now.

Cron comes from cronsim (healthchecks.io's library), chosen over croniter: both handle daylight-saving changes the
way cron does (a time skipped in spring runs at the first time after it; a repeated hour in autumn runs twice),
but cronsim is one small module with no dependencies and refuses invalid expressions outright, and we need no
seconds field (sub-minute schedules use an interval).
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from itertools import chain, islice
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from taskflow.domain.errors import InvalidTaskRequest

# An occurrence found later than this was missed (the relays were down), not merely reached a little late.
GRACE = timedelta(seconds=60)
# The shortest interval: one task a second is already a lot of tasks.
MIN_INTERVAL_SECONDS = 1
# Occurrences created at once, at most: a long outage with a one-second schedule must not flood the outbox.
MAX_OCCURRENCES_AT_ONCE = 100


class MissedPolicy(StrEnum):
    """What becomes of occurrences missed while nothing ran."""

    SKIP = "skip"
    RUN_ONCE = "run_once"


@dataclass(frozen=True)
class Recurrence:
    """When a schedule fires: a cron expression in a time zone, or a fixed interval."""

    cron: str | None = None
    timezone: str = "UTC"
    interval_seconds: int | None = None

    def __post_init__(self) -> None:
        if (self.cron is None) == (self.interval_seconds is None):
            raise InvalidTaskRequest("give a cron expression or interval_seconds, not both and not neither")
        if self.interval_seconds is not None and self.interval_seconds < MIN_INTERVAL_SECONDS:
            raise InvalidTaskRequest(f"interval_seconds must be at least {MIN_INTERVAL_SECONDS}")
        try:
            zone = ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as error:
            raise InvalidTaskRequest(f"unknown time zone {self.timezone!r}") from error
        if self.cron is not None:
            try:
                CronSim(self.cron, datetime.now(zone))
            except CronSimError as error:
                raise InvalidTaskRequest(f"invalid cron expression {self.cron!r}: {error}") from error

    def after(self, moment: datetime) -> Iterator[datetime]:
        """The occurrences strictly after `moment`, in order, as aware datetimes in UTC."""
        if self.interval_seconds is not None:
            step = timedelta(seconds=self.interval_seconds)
            while True:
                moment += step
                yield moment
        zone = ZoneInfo(self.timezone)
        for occurrence in CronSim(self.cron, moment.astimezone(zone)):
            yield occurrence.astimezone(ZoneInfo("UTC"))

    def first_after(self, moment: datetime) -> datetime:
        """The first occurrence after `moment`."""
        return next(self.after(moment))


@dataclass(frozen=True)
class Firing:
    """What a schedule does now: the occurrences to create a task for, and its next occurrence after now."""

    occurrences: list[datetime]
    next_run_at: datetime


def fire(recurrence: Recurrence, missed: MissedPolicy, due_at: datetime, now: datetime) -> Firing:
    """The occurrences a schedule due at `due_at` creates a task for at `now`, and when it is due next."""
    if due_at > now:
        return Firing([], due_at)
    # Everything due by now (a bounded look: after a long outage, a one-second schedule has missed a lot).
    due = list(islice(_until(chain([due_at], recurrence.after(due_at)), now), 100_000))
    late = [occurrence for occurrence in due if now - occurrence > GRACE]
    on_time = [occurrence for occurrence in due if now - occurrence <= GRACE][-MAX_OCCURRENCES_AT_ONCE:]
    # run_once: a task for the last missed occurrence stands for all of them.
    chosen = ([late[-1]] if late and missed is MissedPolicy.RUN_ONCE else []) + on_time
    next_run_at = recurrence.first_after(due[-1])
    if next_run_at <= now:  # beyond the bounded look: the rest were missed too
        next_run_at = recurrence.first_after(now)
    return Firing(chosen, next_run_at)


def _until(occurrences: Iterable[datetime], now: datetime) -> Iterator[datetime]:
    for occurrence in occurrences:
        if occurrence > now:
            return
        yield occurrence
