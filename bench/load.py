"""HTTP load: closed loop (N clients, each sends when its previous request is answered) and open loop (fixed rate)."""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import aiohttp


@dataclass
class LoadResult:
    """Latencies in seconds, the wall time of the run, and the response bodies kept by `keep`."""

    latencies: list[float] = field(default_factory=list)
    elapsed: float = 0.0
    errors: int = 0
    kept: list = field(default_factory=list)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


async def _send(session, method: str, url: str, body: Callable[[], dict] | None, result: LoadResult, keep: bool):
    started = time.perf_counter()
    async with session.request(method, url, json=body() if body else None) as response:
        payload = await response.json() if keep else await response.read()
        if response.status >= 400:
            result.errors += 1
            return
    result.latencies.append(time.perf_counter() - started)
    if keep:
        result.kept.append(payload)


async def closed_loop(
    method: str, url: str, *, clients: int, total: int, body=None, keep=False, headers=None
) -> LoadResult:
    """`clients` concurrent clients send `total` requests in all."""
    result = LoadResult()
    remaining = iter(range(total))

    async def client(session):
        for _ in remaining:
            await _send(session, method, url, body, result, keep)

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=clients), headers=headers) as session:
        started = time.perf_counter()
        await asyncio.gather(*(client(session) for _ in range(clients)))
        result.elapsed = time.perf_counter() - started
    return result


async def open_loop(
    method: str, url: str, *, rate: float, seconds: float, body=None, keep=False, headers=None
) -> LoadResult:
    """Requests started at a steady `rate` per second for `seconds`, whatever the response times."""
    result = LoadResult()
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0), headers=headers) as session:
        started = time.perf_counter()
        pending = []
        for i in range(int(rate * seconds)):
            delay = started + i / rate - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            pending.append(asyncio.create_task(_send(session, method, url, body, result, keep)))
        await asyncio.gather(*pending)
        result.elapsed = time.perf_counter() - started
    return result
