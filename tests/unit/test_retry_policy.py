import pytest

from taskflow.domain.retry import MAX_VISIBILITY_SECONDS, RetryPolicy

POLICY = RetryPolicy(max_attempts=5, base_delay_seconds=2, max_delay_seconds=60)


@pytest.mark.parametrize(("attempts", "longest"), [(1, 2), (2, 4), (3, 8), (4, 16), (5, 32), (6, 60), (20, 60)])
def test_the_longest_delay_doubles_per_attempt_up_to_the_cap(attempts, longest):
    assert POLICY.delay_before_next(attempts, random_fraction=lambda: 1.0) == longest


def test_full_jitter_spreads_delays_but_never_below_one_second():
    assert POLICY.delay_before_next(4, random_fraction=lambda: 0.0) == 1
    assert POLICY.delay_before_next(4, random_fraction=lambda: 0.5) == 8
    assert len({POLICY.delay_before_next(6) for _ in range(200)}) > 20


def test_no_delay_exceeds_what_sqs_accepts():
    assert RetryPolicy(max_delay_seconds=10**9).delay_before_next(60, lambda: 1.0) == MAX_VISIBILITY_SECONDS


def test_it_gives_up_once_the_attempts_are_used():
    assert not POLICY.gives_up_after(4)
    assert POLICY.gives_up_after(5)
