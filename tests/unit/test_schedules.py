from datetime import UTC, datetime, timedelta

import pytest

from taskflow.domain.errors import InvalidTaskRequest
from taskflow.domain.schedules import GRACE, MAX_OCCURRENCES_AT_ONCE, MissedPolicy, Recurrence, fire

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
    assert all(after_an_outage - o <= GRACE for o in skipped.occurrences) and len(skipped.occurrences) == 2
    once = fire(every_minute, MissedPolicy.RUN_ONCE, T0, after_an_outage)
    assert len(once.occurrences) == 3 and after_an_outage - once.occurrences[0] > GRACE, "one for all the missed"
    assert skipped.next_run_at == once.next_run_at == after_an_outage + timedelta(minutes=1)


def test_a_long_outage_of_a_one_second_schedule_creates_a_bounded_number_of_tasks():
    firing = fire(EVERY_SECOND, MissedPolicy.SKIP, T0, T0 + timedelta(days=3))
    assert len(firing.occurrences) <= MAX_OCCURRENCES_AT_ONCE
    assert firing.next_run_at > T0 + timedelta(days=3)


def test_cron_follows_the_time_zone_through_daylight_saving_changes():
    paris = Recurrence(cron="30 2 * * *", timezone="Europe/Paris")
    spring = datetime(2026, 3, 28, 12, 0, tzinfo=UTC)
    days = [o.isoformat() for o in list(_take(paris.after(spring), 3))]
    # 02:30 does not exist on 29 March in Paris: cron runs at 03:00 local (01:00 UTC) instead.
    assert days == ["2026-03-29T01:00:00+00:00", "2026-03-30T00:30:00+00:00", "2026-03-31T00:30:00+00:00"]


@pytest.mark.parametrize(
    "fields",
    [{}, {"cron": "* * * * *", "interval_seconds": 5}, {"interval_seconds": 0}, {"cron": "61 * * * *"},
     {"cron": "* * * * *", "timezone": "Mars/Olympus"}, {"cron": "not cron"}],
)  # fmt: skip
def test_a_bad_recurrence_is_refused(fields):
    with pytest.raises(InvalidTaskRequest):
        Recurrence(**fields)


def _take(iterator, n):
    for _, value in zip(range(n), iterator, strict=False):
        yield value
