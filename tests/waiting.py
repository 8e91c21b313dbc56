"""Waiting for a condition, never for the clock: poll it until it holds or a deadline passes."""

import time


def wait_until(predicate, timeout: float, what: str):
    """The first truthy value of `predicate()`; fails the test if there is none within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"{what} did not happen within {timeout}s")
