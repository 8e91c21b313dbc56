"""`make bench`: start a stack of its own, load it, print the figures. Nothing here asserts a target.

Phases, in order, on one fresh database and queue:
  1. raw SQS: SendMessageBatch + ReceiveMessage + DeleteMessageBatch on the same endpoint (the ceiling);
  2. the API alone: GET /health (the ceiling) and POST /tasks, 32 concurrent clients;
  3. end to end: 5,000 tasks created over HTTP by 32 clients, timed until every one has succeeded;
  4. latency: tasks created at a steady 200/s for 10 s, create -> succeeded from the database timestamps.
Between 2 and 3: the worst listing page (200 tasks of 1 MB, payloads included) and the API's peak memory.
"""

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import psycopg

from bench.cpu import cpu_seconds_by_part, spent_since
from bench.listing_memory import TASKS as TASKS_OF_1_MB
from bench.listing_memory import worst_page
from bench.load import closed_loop, open_loop
from bench.raw_sqs import raw_sqs_rate
from bench.viewers import viewers_cost
from devstack.dev_key import new_api_key
from devstack.localstack import free_port
from devstack.localstack import sqs_endpoint as find_or_start_sqs
from devstack.postgres import create_database, drop_database, migrate, server_for_tests
from devstack.processes import ProcessGroup, service_commands, wait_until_healthy
from devstack.queues import provision_queues
from taskflow.db.engine import libpq_url

REGION = "us-east-1"
CLIENTS = 32
VIEWERS = 200  # open dashboard streams, all watching the tenant that creates the tasks
VIEWER_ROUNDS = 5
E2E_TASKS = 5_000
STEADY_RATE, STEADY_SECONDS = 200, 10


def task_body() -> dict:
    return {"type": "word_stats", "payload": {"text": "the quick brown fox jumps over the lazy dog " * 4}}


def finished_count(database_url: str) -> int:
    with psycopg.connect(libpq_url(database_url)) as connection:
        return connection.execute("SELECT count(*) FROM tasks WHERE status IN ('succeeded', 'failed')").fetchone()[0]


def created_count(database_url: str) -> int:
    with psycopg.connect(libpq_url(database_url)) as connection:
        return connection.execute("SELECT count(*) FROM tasks").fetchone()[0]


def wait_for_finished(database_url: str, count: int, timeout: float = 300) -> float:
    """Block until `count` tasks have finished; return when that happened (perf_counter)."""
    deadline = time.perf_counter() + timeout
    while finished_count(database_url) < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"only {finished_count(database_url)} of {count} tasks finished in {timeout}s")
        time.sleep(0.05)
    return time.perf_counter()


def create_to_finish_latencies(database_url: str, task_ids: list[str]) -> list[float]:
    with psycopg.connect(libpq_url(database_url)) as connection:
        rows = connection.execute(
            "SELECT extract(epoch FROM finished_at - created_at) FROM tasks WHERE id = ANY(%s::uuid[])", (task_ids,)
        ).fetchall()
    return [float(seconds) for (seconds,) in rows]


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def run(database_url: str, endpoint: str, log_path: Path) -> list[tuple[str, str]]:
    figures: list[tuple[str, str]] = []
    raw_queue = provision_queues(endpoint, REGION, f"bench-raw-{uuid.uuid4().hex[:8]}")
    raw_url = next(url for name, url in raw_queue.items() if not name.endswith("-dlq"))
    figures.append(("raw SQS send+receive+delete", f"{raw_sqs_rate(endpoint, REGION, raw_url, E2E_TASKS):.0f} msg/s"))

    queue_name = f"bench-{uuid.uuid4().hex[:8]}"
    provision_queues(endpoint, REGION, queue_name)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {
        "DATABASE_URL": database_url,
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_REGION": REGION,
        "QUEUE_NAME": queue_name,
        "LOG_LEVEL": "WARNING",
    }
    commands = service_commands(port)
    key = {"X-API-Key": new_api_key(database_url, "bench")}
    with open(log_path, "w") as log_file:
        group = ProcessGroup(output=log_file)
        try:
            group.start("api", commands["api"], env)
            wait_until_healthy(f"{base}/health")
            asyncio.run(closed_loop("GET", f"{base}/health", clients=CLIENTS, total=2_000))  # warm-up
            health = asyncio.run(closed_loop("GET", f"{base}/health", clients=CLIENTS, total=10_000))
            figures.append((f"GET /health, {CLIENTS} clients", _rate_line(health)))
            asyncio.run(
                closed_loop("POST", f"{base}/tasks", clients=CLIENTS, total=500, body=task_body, headers=key)
            )  # warm-up
            create = asyncio.run(
                closed_loop("POST", f"{base}/tasks", clients=CLIENTS, total=5_000, body=task_body, headers=key)
            )
            figures.append((f"POST /tasks, {CLIENTS} clients (API alone)", _rate_line(create)))

            def post_rate() -> float:
                posts = closed_loop("POST", f"{base}/tasks", clients=CLIENTS, total=2_000, body=task_body, headers=key)
                return asyncio.run(posts).rate

            cost = viewers_cost(f"{base}/stream", key, VIEWERS, post_rate, rounds=VIEWER_ROUNDS)
            figures.append(
                (
                    f"  with {VIEWERS} dashboard viewers streaming",
                    f"{cost['watched']:.0f} req/s against {cost['alone']:.0f} without "
                    f"({cost['ratio'] - 1:+.1%}, medians of {VIEWER_ROUNDS} alternated rounds; "
                    f"{cost['batches']} batches of changes delivered)",
                )
            )
            page = worst_page(base, key, group.processes["api"].pid)
            figures.append(
                (
                    f"GET /tasks?include=payload,result over {TASKS_OF_1_MB} tasks of 1 MB",
                    f"a page of {page['tasks']} tasks, {page['page_mb']:.1f} MB; API resident "
                    f"{page['resident_mb']:.0f} MB, peak {page['peak_mb']:.0f} MB while answering",
                )
            )
            created_so_far = created_count(database_url)

            group.start("relay", commands["relay"], env)
            group.start("esm", commands["esm"], env)
            wait_for_finished(database_url, created_so_far)

            cpu_before = cpu_seconds_by_part()
            started = time.perf_counter()
            e2e = asyncio.run(
                closed_loop("POST", f"{base}/tasks", clients=CLIENTS, total=E2E_TASKS, body=task_body, headers=key)
            )
            done = wait_for_finished(database_url, created_so_far + E2E_TASKS - e2e.errors)
            figures.append(
                (
                    f"end to end, {E2E_TASKS} tasks over HTTP",
                    f"{E2E_TASKS / (done - started):.0f} tasks/s "
                    f"(POST /tasks meanwhile: {e2e.rate:.0f}/s, p99 {ms(e2e.percentile(0.99))})",
                )
            )
            created_so_far += E2E_TASKS - e2e.errors
            spent = spent_since(cpu_before)
            per_thousand = ", ".join(f"{part} {seconds * 1000 / E2E_TASKS:.2f}" for part, seconds in spent.items())
            figures.append(("  CPU seconds per 1,000 tasks", per_thousand))

            steady = asyncio.run(
                open_loop(
                    "POST",
                    f"{base}/tasks",
                    rate=STEADY_RATE,
                    seconds=STEADY_SECONDS,
                    body=task_body,
                    keep=True,
                    headers=key,
                )
            )
            wait_for_finished(database_url, created_so_far + len(steady.kept))
            latencies = sorted(create_to_finish_latencies(database_url, [t["id"] for t in steady.kept]))
            figures.append(
                (
                    f"create -> succeeded at {STEADY_RATE} tasks/s",
                    f"p50 {ms(statistics.median(latencies))}, "
                    f"p99 {ms(latencies[int(len(latencies) * 0.99)])} over {len(latencies)} tasks",
                )
            )
            errors = health.errors + create.errors + e2e.errors + steady.errors
            figures.append(("HTTP errors during the run", str(errors)))
        finally:
            group.stop_all()
    return figures


def _rate_line(result) -> str:
    return f"{result.rate:.0f} req/s, p50 {ms(result.percentile(0.5))}, p99 {ms(result.percentile(0.99))}"


def main() -> None:
    # Local endpoints accept any credentials; boto3 insists on having some.
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "test")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "test")
    with tempfile.TemporaryDirectory(prefix="taskflow-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        with server_for_tests(scratch) as server:
            name = f"taskflow_bench_{uuid.uuid4().hex[:8]}"
            database_url = create_database(server, name)
            migrate(database_url)
            try:
                with find_or_start_sqs(scratch) as endpoint:
                    figures = run(database_url, endpoint, scratch / "stack.log")
            finally:
                drop_database(server, name)
    width = max(len(label) for label, _ in figures)
    print(f"\ntaskflow bench ({sys.platform}, {os.cpu_count()} cores)")
    for label, value in figures:
        print(f"  {label:<{width}}  {value}")


if __name__ == "__main__":
    main()
