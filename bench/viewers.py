"""Dashboard viewers for the bench: a process of its own holding N open GET /stream connections, reading
every event (the path's figures among them), and reading the history as the page does, while the bench measures
POST /tasks."""

import asyncio
import multiprocessing
import random
import statistics
from collections.abc import Callable

import aiohttp

# As api/dashboard/app.js reads it while the page is in view (HISTORY_SECONDS); the path comes with the stream.
READS = {"/stats/history?minutes=15&bucket_seconds=10": 30}


def _watch(url: str, headers: dict, viewers: int, ready, stop, received) -> None:
    base = url.rsplit("/", 1)[0]

    async def reading(session: aiohttp.ClientSession, path: str, seconds: float) -> None:
        await asyncio.sleep(random.uniform(0, seconds))  # pages opened at different moments
        while True:
            async with session.get(f"{base}{path}") as response:
                await response.read()
            await asyncio.sleep(seconds)

    async def viewer(session: aiohttp.ClientSession, connected: list) -> None:
        readers = [asyncio.create_task(reading(session, path, seconds)) for path, seconds in READS.items()]
        try:
            await streaming(session, connected)
        finally:
            for reader in readers:
                reader.cancel()

    async def streaming(session: aiohttp.ClientSession, connected: list) -> None:
        async with session.get(url) as response:
            connected.append(response.status)
            if len(connected) == viewers:
                ready.set()
            async for chunk in response.content.iter_any():
                if events := chunk.count(b'"changed"'):
                    with received.get_lock():
                        received.value += events

    async def main() -> None:
        connected: list = []
        timeout = aiohttp.ClientTimeout(total=None, sock_read=None)
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(headers=headers, timeout=timeout, connector=connector) as session:
            watchers = [asyncio.create_task(viewer(session, connected)) for _ in range(viewers)]
            while not stop.is_set():
                await asyncio.sleep(0.1)
            for watcher in watchers:
                watcher.cancel()
            await asyncio.gather(*watchers, return_exceptions=True)

    asyncio.run(main())


class Viewers:
    """`with Viewers(url, headers, 200) as viewers:` holds 200 streams open; `events`: batches received."""

    def __init__(self, url: str, headers: dict, viewers: int) -> None:
        context = multiprocessing.get_context("spawn")
        self.ready, self.stop = context.Event(), context.Event()
        self.received = context.Value("l", 0)
        self.process = context.Process(
            target=_watch, args=(url, headers, viewers, self.ready, self.stop, self.received), daemon=True
        )

    def __enter__(self) -> "Viewers":
        self.process.start()
        if not self.ready.wait(60):
            raise TimeoutError("the viewers did not all connect")
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.process.join(10)

    @property
    def events(self) -> int:
        return self.received.value


def viewers_cost(url: str, headers: dict, viewers: int, post_rate: Callable[[], float], rounds: int = 5) -> dict:
    """POST throughput without and with `viewers` open streams, alternated `rounds` times (this machine's
    throughput drifts by more than the effect): the medians, their ratio, and the batches the viewers received."""
    alone, watched, batches = [], [], 0
    for _ in range(rounds):
        alone.append(post_rate())
        with Viewers(url, headers, viewers) as watching:
            watched.append(post_rate())
        batches += watching.events
    ratio = statistics.median(watched) / statistics.median(alone)
    return {
        "alone": statistics.median(alone),
        "watched": statistics.median(watched),
        "ratio": ratio,
        "batches": batches,
    }
