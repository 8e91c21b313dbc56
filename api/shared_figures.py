"""Figures every open dashboard asks for (the path, the history), computed at most once per tenant every few
seconds and shared by all of that tenant's viewers, as the live stream's batches are.

Without it, 200 dashboards reading the path every 5 s cost POST /tasks 31 % of its throughput in `make bench`
(each read is a handful of aggregate queries). Concurrent askers share one computation in flight; a failed one is
not kept, so the next asker tries again.
"""

import asyncio
import time
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from cachetools import TTLCache


class SharedFigures:
    """`await shared.get(key, compute)`: compute's result, computed at most once per `seconds` per key."""

    def __init__(self, seconds: float, size: int = 10_000, clock: Callable[[], float] = time.monotonic) -> None:
        self.computations: TTLCache[Hashable, asyncio.Future] = TTLCache(maxsize=size, ttl=seconds, timer=clock)

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[Any]]) -> Any:
        """The figures of `key`, shared with every caller within `seconds` of their computation."""
        computation = self.computations.get(key)
        if computation is None or _failed(computation):
            computation = self.computations[key] = asyncio.ensure_future(compute())
            computation.add_done_callback(_seen)
        return await asyncio.shield(computation)  # one caller giving up does not cancel the others' computation


def _failed(computation: asyncio.Future) -> bool:
    return computation.done() and (computation.cancelled() or computation.exception() is not None)


def _seen(computation: asyncio.Future) -> None:
    if not computation.cancelled():
        computation.exception()  # a failure every caller gave up on is not reported as never retrieved
