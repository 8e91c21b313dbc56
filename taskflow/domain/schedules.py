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

import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from cronsim import CronSim, CronSimError

from taskflow.domain.errors import InvalidTaskRequest

# An occurrence found later than this was missed (the relays were down), not merely reached a little late.
GRACE = timedelta(seconds=60)
# The shortest interval: one task a second is already a lot of tasks.
MIN_INTERVAL_SECONDS = 1


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
        except (ZoneInfoNotFoundError, ValueError, OSError) as error:  # OSError: a folder such as America
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
            yield occurrence.astimezone(UTC)

    def first_after(self, moment: datetime) -> datetime:
        """The first occurrence after `moment`."""
        return next(self.after(moment))

    def from_(self, due_at: datetime, moment: datetime) -> Iterator[datetime]:
        """The occurrences at or after `moment` of a schedule due at `due_at` (an interval keeps its phase), found
        without walking what lies between: after a long outage that would be millions of steps."""
        if moment <= due_at:
            yield due_at
            yield from self.after(due_at)
        elif self.interval_seconds is not None:
            steps = math.ceil((moment - due_at) / timedelta(seconds=self.interval_seconds))
            first = due_at + steps * timedelta(seconds=self.interval_seconds)
            yield first
            yield from self.after(first)
        else:
            yield from self.after(moment - timedelta(microseconds=1))


@dataclass(frozen=True)
class Firing:
    """What a schedule does now: the occurrences to create a task for, and its next occurrence after now."""

    occurrences: list[datetime]
    next_run_at: datetime


def fire(recurrence: Recurrence, missed: MissedPolicy, due_at: datetime, now: datetime) -> Firing:
    """The occurrences a schedule due at `due_at` creates a task for at `now`, and when it is due next."""
    if due_at > now:
        return Firing([], due_at)
    cutoff = now - GRACE
    on_time = list(_until(recurrence.from_(due_at, cutoff), now))  # at most GRACE's worth: 61 at one a second
    # run_once: one task, at the first missed occurrence, stands for all of them.
    chosen = ([due_at] if due_at < cutoff and missed is MissedPolicy.RUN_ONCE else []) + on_time
    return Firing(chosen, next(recurrence.from_(due_at, now + timedelta(microseconds=1))))


def _until(occurrences: Iterable[datetime], now: datetime) -> Iterator[datetime]:
    for occurrence in occurrences:
        if occurrence > now:
            return
        yield occurrence
