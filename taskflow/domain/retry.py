"""How often, and how long apart, a task whose function failed transiently is tried again."""

import random
from collections.abc import Callable
from dataclasses import dataclass

# SQS refuses a visibility timeout above twelve hours.
MAX_VISIBILITY_SECONDS = 12 * 60 * 60


@dataclass(frozen=True)
class RetryPolicy:
    """At most `max_attempts` runs; between them, exponential backoff with full jitter."""

    max_attempts: int = 5
    base_delay_seconds: float = 2.0
    max_delay_seconds: float = 15 * 60

    def delay_before_next(self, attempts_so_far: int, random_fraction: Callable[[], float] = random.random) -> int:
        """Seconds to wait after `attempts_so_far` failed runs: uniform in [1, base * 2^(n-1)], capped.

        Full jitter spreads retries of tasks that failed together, so they do not come back together.
        """
        ceiling = min(
            self.max_delay_seconds, MAX_VISIBILITY_SECONDS, self.base_delay_seconds * 2 ** max(0, attempts_so_far - 1)
        )
        return max(1, round(random_fraction() * ceiling))

    def gives_up_after(self, attempts_so_far: int) -> bool:
        """True once no attempt is left."""
        return attempts_so_far >= self.max_attempts
