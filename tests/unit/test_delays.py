from datetime import UTC, datetime, timedelta

import pytest

from taskflow.domain.delays import MAX_DELAY, run_at_of, waiting_status
from taskflow.domain.errors import InvalidTaskRequest
from taskflow.domain.states import TaskStatus

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_a_run_time_in_the_future_schedules_the_task_and_one_in_the_past_runs_it_at_once():
    assert run_at_of(NOW, run_at=NOW + timedelta(minutes=5)) == NOW + timedelta(minutes=5)
    assert run_at_of(NOW, delay_seconds=30) == NOW + timedelta(seconds=30)
    assert run_at_of(NOW, run_at=NOW - timedelta(seconds=1)) is None
    assert run_at_of(NOW, delay_seconds=0) is None
    assert run_at_of(NOW) is None
    assert waiting_status(NOW) == TaskStatus.SCHEDULED and waiting_status(None) == TaskStatus.PENDING


def test_both_or_too_far_ahead_are_refused():
    with pytest.raises(InvalidTaskRequest, match="not both"):
        run_at_of(NOW, run_at=NOW + timedelta(seconds=5), delay_seconds=5)
    with pytest.raises(InvalidTaskRequest, match="at most 366 days"):
        run_at_of(NOW, run_at=NOW + MAX_DELAY + timedelta(seconds=1))
