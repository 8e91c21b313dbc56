"""An event source mapping running in a thread, as `python -m esm` runs it, for as long as a test needs it."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager

from esm.mapping import EventSourceMapping
from tests.waiting import wait_until


@contextmanager
def running(mapping: EventSourceMapping) -> Iterator[EventSourceMapping]:
    """Run the mapping's poll loop in a thread; stop it and wait for it on the way out."""
    thread = threading.Thread(target=mapping.run, name="esm-under-test")
    thread.start()
    try:
        yield mapping
    finally:
        mapping.stop()
        thread.join(30)
        assert not thread.is_alive(), "the mapping did not stop"


def run_until(mapping: EventSourceMapping, predicate, what: str, timeout: float = 20) -> None:
    """Run the mapping until `predicate()` holds, then stop it."""
    with running(mapping):
        wait_until(predicate, timeout, what)
