"""An invocation's deadline: whether a record may still start, and interrupting a function that overruns it.

Lambda kills an invocation that overruns its timeout, with everything in it. So the consumer starts a record
only while the invocation has that task type's time budget left, and interrupts a task function still running
shortly before the deadline (SIGALRM, delivered to the main thread, where the Lambda runtime calls the handler):
the task is then retried like any transient failure, and the records after it are handed back to the queue
instead of dying with the invocation. Code that swallows the interruption is still killed at the timeout;
the claim's lease then runs out and the attempt counts (see taskflow.services.recovery).
"""

import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from taskflow.domain.errors import TaskTimedOut

# Kept back from every deadline: the time to store a record's outcome and answer the invocation.
RESERVE_SECONDS = 0.5


@dataclass
class Deadline:
    """One invocation's time; `remaining_seconds` reads it (the Lambda context's remaining time)."""

    remaining_seconds: Callable[[], float]
    reserve_seconds: float = RESERVE_SECONDS
    started_a_record: bool = False

    def usable_seconds(self) -> float:
        """Time left for task functions, the reserve kept back."""
        return self.remaining_seconds() - self.reserve_seconds

    def allows(self, budget_seconds: float) -> bool:
        """Whether a record whose type has this budget may start now (the invocation's first always may)."""
        usable = self.usable_seconds()
        return usable > 0 and (not self.started_a_record or usable >= budget_seconds)

    @contextmanager
    def running(self) -> Iterator[None]:
        """Run a task function; TaskTimedOut is raised in it if it is still running when the usable time is up."""
        self.started_a_record = True
        with interrupt_after(self.usable_seconds()):
            yield


@contextmanager
def interrupt_after(seconds: float) -> Iterator[None]:
    """Raise TaskTimedOut in the block if it runs longer than `seconds` (main thread only: signals arrive there)."""
    if threading.current_thread() is not threading.main_thread():
        yield  # the invocation's own timeout still bounds the run
        return
    armed = True

    def on_alarm(signum: int, frame: object) -> None:
        if armed:  # the block may end between the alarm and this handler
            raise TaskTimedOut(f"still running after {seconds:.1f}s, when its invocation's time ran out")

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, max(seconds, 0.001))
    try:
        yield
    finally:
        armed = False
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
