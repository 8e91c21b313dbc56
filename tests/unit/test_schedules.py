import time
from datetime import UTC, datetime, timedelta

import pytest

from taskflow.domain.errors import InvalidTaskRequest
from taskflow.domain.schedules import MissedPolicy, Recurrence, fire

T0 = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)
EVERY_SECOND = Recurrence(interval_seconds=1)


def test_each_occurrence_due_by_now_fires_once_and_the_next_is_after_now():
    firing = fire(EVERY_SECOND, MissedPolicy.SKIP, T0, T0 + timedelta(seconds=2.5))
    assert firing.occurrences == [T0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2)]
    assert firing.next_run_at == T0 + timedelta(seconds=3)
    assert fire(EVERY_SECOND, MissedPolicy.SKIP, T0, T0 - timedelta(seconds=1)).occurrences == [], "not due yet"


def test_missed_occurrences_are_skipped_or_run_once_as_the_schedule_says():
    every_minute = Recurrence(cron="* * * * *")
    after_an_outage = T0 + timedelta(hours=2)
    skipped = fire(every_minute, MissedPolicy.SKIP, T0, after_an_outage)
    assert skipped.occurrences == [after_an_outage - timedelta(minutes=1), after_an_outage], "only those on time"
    once = fire(every_minute, MissedPolicy.RUN_ONCE, T0, after_an_outage)
    assert once.occurrences == [T0, *skipped.occurrences], "one task, at the first missed, for all of them"
    assert skipped.next_run_at == once.next_run_at == after_an_outage + timedelta(minutes=1)


def test_a_long_outage_is_not_walked_and_keeps_the_intervals_phase():
    due = T0 + timedelta(milliseconds=250)
    started = time.monotonic()
    firing = fire(EVERY_SECOND, MissedPolicy.RUN_ONCE, due, T0 + timedelta(days=300))
    assert time.monotonic() - started < 1, "three hundred days of seconds were walked one by one"
    assert len(firing.occurrences) == 1 + 60 and firing.occurrences[0] == due, "the missed one, then the on-time"
    assert all(o.microsecond == 250_000 for o in firing.occurrences[1:]) and firing.next_run_at.microsecond == 250_000
    paris = Recurrence(cron="30 2 * * *", timezone="Europe/Paris")
    daily = fire(paris, MissedPolicy.SKIP, T0, T0 + timedelta(days=900))
    assert daily.occurrences == [] and daily.next_run_at > T0 + timedelta(days=900)


def test_cron_follows_the_time_zone_through_daylight_saving_changes():
    paris = Recurrence(cron="30 2 * * *", timezone="Europe/Paris")
    spring = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    days = [o.isoformat() for o in list(_take(paris.after(spring), 3))]
    # 02:30 does not exist on 29 March in Paris: cron runs at 03:00 local (01:00 UTC) instead.
    assert days == ["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00", "2026-03-31T00:30:00+00:00"]


@pytest.mark.parametrize(
    "fields",
    [{}, {"cron": "* * * * *", "interval_seconds": 5}, {"interval_seconds": 0}, {"cron": "61 * * * *"},
     {"cron": "* * * * *", "timezone": "Mars/Olympus"}, {"cron": "not cron"},
     {"interval_seconds": 60, "timezone": "America"}, {"interval_seconds": 60, "timezone": "../etc"}],
)  # fmt: skip
def test_a_bad_recurrence_is_refused(fields):
    with pytest.raises(InvalidTaskRequest):
        Recurrence(**fields)


def _take(iterator, n):
    for _, value in zip(range(n), iterator, strict=False):
        yield value
