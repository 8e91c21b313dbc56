"""The phases `make bench` runs the same way against this project and against its peer (bench/peer), so that their
figures sit side by side: the API alone, end to end, and create -> succeeded at a steady rate."""

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import psycopg

from bench.cpu import cpu_seconds_by_part, spent_since
from bench.load import LoadResult, closed_loop, open_loop
from taskflow.db.engine import libpq_url

CLIENTS = 32
E2E_TASKS = 5_000
STEADY_RATE, STEADY_SECONDS = 200, 10


def task_body() -> dict:
    return {"type": "word_stats", "payload": {"text": "the quick brown fox jumps over the lazy dog " * 4}}


@dataclass
class System:
    """What the phases need of a system under test: its API, how to start its consumers, and its task rows."""

    base: str
    headers: dict
    start_consumers: Callable[[], None]
    finished_count: Callable[[], int]  # tasks succeeded or failed so far
    latencies: Callable[[list[str]], list[float]]  # create -> finish of these tasks, in seconds
    stages: Callable[[list[str]], dict[str, list[float]]] | None = None  # the same, stage by stage


FINISHED = "SELECT count(*) FROM {} WHERE status IN ('succeeded', 'failed')"
LATENCIES = "SELECT extract(epoch FROM finished_at - created_at) FROM {} WHERE id = ANY(%s::uuid[])"


def counter(database_url: str, query: str) -> Callable[..., list]:
    """A function that runs `query` with its arguments on a connection of its own and returns the rows."""

    def count(*args) -> list:
        with psycopg.connect(libpq_url(database_url)) as connection:
            return connection.execute(query, args).fetchall()

    return count


def system_on(base: str, headers: dict, database_url: str, table: str, start_consumers) -> System:
    """The System whose API is at `base` and whose task rows are in `table`."""
    finished = counter(database_url, FINISHED.format(table))
    latencies = counter(database_url, LATENCIES.format(table))
    return System(base, headers, start_consumers, lambda: finished()[0][0],
                  lambda ids: [float(seconds) for (seconds,) in latencies(ids)])  # fmt: skip


@dataclass
class Measured:
    """One system's figures (rates per second, times in seconds)."""

    health: LoadResult | None = None
    create_alone: LoadResult | None = None
    e2e_rate: float = 0.0
    create_during: LoadResult | None = None
    cpu_by_part: dict[str, float] = field(default_factory=dict)  # seconds per task
    latencies: list[float] = field(default_factory=list)
    stages: dict[str, list[float]] = field(default_factory=dict)
    errors: int = 0

    @property
    def cpu_per_task(self) -> float:
        return sum(self.cpu_by_part.values())

    def latency(self, p: float) -> float:
        return percentile(self.latencies, p)


def wait_for_finished(system: System, count: int, timeout: float = 300) -> float:
    """Block until `count` tasks have finished; return when that happened (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while (finished := system.finished_count()) < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {finished} of {count} tasks finished in {timeout}s")
        time.sleep(0.05)
    return time.perf_counter()


def measure_api_alone(system: System, measured: Measured) -> None:
    """GET /health and POST /tasks with nothing consuming (each after a warm-up)."""
    health = f"{system.base}/health"
    asyncio.run(closed_loop("GET", health, clients=CLIENTS, total=2_000))
    measured.health = asyncio.run(closed_loop("GET", health, clients=CLIENTS, total=10_000))
    tasks = f"{system.base}/tasks"
    asyncio.run(closed_loop("POST", tasks, clients=CLIENTS, total=500, body=task_body, headers=system.headers))
    measured.create_alone = asyncio.run(
        closed_loop("POST", tasks, clients=CLIENTS, total=5_000, body=task_body, headers=system.headers)
    )
    measured.errors += measured.health.errors + measured.create_alone.errors


def measure_end_to_end(
    system: System, measured: Measured, created_so_far: int, steady_rate: float = STEADY_RATE
) -> None:
    """Start the consumers, drain what the API alone created, then time E2E_TASKS created by CLIENTS clients until
    every one finished; then create at `steady_rate` and read create -> finish from the rows."""
    system.start_consumers()
    # The backlog the API-alone phases left (over 25,000 tasks for this project, the viewers' included) is drained
    # first, unmeasured: at this machine's slowest it takes minutes.
    wait_for_finished(system, created_so_far, timeout=1800)
    cpu_before = cpu_seconds_by_part()
    started = time.perf_counter()
    e2e = asyncio.run(
        closed_loop("POST", f"{system.base}/tasks", clients=CLIENTS, total=E2E_TASKS, body=task_body,
                    headers=system.headers)  # fmt: skip
    )
    done = wait_for_finished(system, created_so_far + E2E_TASKS - e2e.errors)
    measured.e2e_rate = (E2E_TASKS - e2e.errors) / (done - started)
    measured.create_during = e2e
    measured.cpu_by_part = {part: seconds / E2E_TASKS for part, seconds in spent_since(cpu_before).items() if seconds}
    created_so_far += E2E_TASKS - e2e.errors
    steady = asyncio.run(
        open_loop("POST", f"{system.base}/tasks", rate=steady_rate, seconds=STEADY_SECONDS, body=task_body,
                  keep=True, headers=system.headers)  # fmt: skip
    )
    wait_for_finished(system, created_so_far + len(steady.kept))
    steady_ids = [task["id"] for task in steady.kept]
    measured.latencies = system.latencies(steady_ids)
    measured.stages = system.stages(steady_ids) if system.stages else {}
    measured.errors += e2e.errors + steady.errors


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] if ordered else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def comparison(ours: Measured, peer: Measured) -> list[tuple[str, str, str, str]]:
    """(figure, this project, the peer, this project / the peer) for each figure both systems have."""
    p50, p99 = statistics.median, lambda m: m.latency(0.99)  # noqa: E731

    def row(label: str, mine: float, theirs: float, shown: Callable[[float], str]) -> tuple[str, str, str, str]:
        return label, shown(mine), shown(theirs), f"{mine / theirs:.2f}x" if theirs else "-"

    rate = lambda value: f"{value:.0f}/s"  # noqa: E731
    return [
        row(f"end to end, {E2E_TASKS} tasks (tasks/s)", ours.e2e_rate, peer.e2e_rate, rate),
        row(f"create -> succeeded p50 at {STEADY_RATE}/s", p50(ours.latencies), p50(peer.latencies), ms),
        row(f"create -> succeeded p99 at {STEADY_RATE}/s", p99(ours), p99(peer), ms),
        row("POST /tasks while consuming", ours.create_during.rate, peer.create_during.rate, rate),
        row("  its p99", ours.create_during.percentile(0.99), peer.create_during.percentile(0.99), ms),
        row(f"POST /tasks, API alone, {CLIENTS} clients", ours.create_alone.rate, peer.create_alone.rate, rate),
        row("  its p99", ours.create_alone.percentile(0.99), peer.create_alone.percentile(0.99), ms),
        row(f"GET /health, {CLIENTS} clients", ours.health.rate, peer.health.rate, rate),
        row("CPU per task, all processes", ours.cpu_per_task, peer.cpu_per_task, ms),
    ]
