"""Hidden check: retries back off exponentially, with full jitter, as declared by each task type."""

from taskflow.domain.retry import RetryPolicy
from taskflow.task_types import get_task_type


def test_waits_grow_exponentially_up_to_the_cap():
    policy = RetryPolicy(max_attempts=10, base_delay_seconds=2, max_delay_seconds=600)
    longest = [policy.delay_before_next(attempts, lambda: 1.0) for attempts in range(1, 10)]
    assert longest[:6] == [2, 4, 8, 16, 32, 64], longest
    assert longest[-1] == 512 and policy.delay_before_next(20, lambda: 1.0) == 600


def test_tasks_that_failed_together_come_back_spread_out():
    policy = get_task_type("word_stats").retry
    delays = {policy.delay_before_next(4, lambda i=i: i / 100) for i in range(101)}
    assert min(delays) <= 2 and max(delays) >= 15, sorted(delays)
