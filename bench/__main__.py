"""`make bench`: this project and its peer (FastAPI + Celery + Redis, bench/peer), one after the other on this
machine, the same phases against each; prints both columns and their ratio. Nothing here asserts a target.

This project, on a fresh database and queue of its own:
  1. raw SQS: SendMessageBatch + ReceiveMessage + DeleteMessageBatch on the same endpoint (the ceiling);
  2. the API alone: GET /health and POST /tasks, 32 clients (bench.phases);
  3. its own figures: 200 dashboard viewers' cost to POST /tasks, the worst listing page and the API's memory;
  4. end to end: 5,000 tasks created over HTTP by 32 clients, timed until every one has succeeded, and the CPU each
     process spent; then tasks created at a steady 200/s for 10 s, create -> succeeded from the database timestamps.
The peer: phases 2 and 4 alike.
"""

import asyncio
import os
import sys
import tempfile
import uuid
from pathlib import Path

from bench import phases
from bench.listing_memory import TASKS as TASKS_OF_1_MB
from bench.listing_memory import worst_page
from bench.load import closed_loop
from bench.ours import REGION, our_stack, use_local_credentials
from bench.peer import stack as peer
from bench.phases import CLIENTS, E2E_TASKS, Measured, System, counter, ms, system_on, task_body
from bench.raw_sqs import raw_sqs_rate
from bench.stages import stage_seconds
from bench.viewers import viewers_cost
from devstack.localstack import free_port
from devstack.localstack import sqs_endpoint as find_or_start_sqs
from devstack.postgres import create_database, drop_database, migrate, server_for_tests
from devstack.processes import ProcessGroup, wait_until_healthy
from devstack.queues import provision_queues

VIEWERS = 200  # open dashboard streams, all watching the tenant that creates the tasks
VIEWER_ROUNDS = 5


def run_ours(database_url: str, endpoint: str, log_path: Path, figures: list[tuple[str, str]]) -> Measured:
    raw_queue = provision_queues(endpoint, REGION, f"bench-raw-{uuid.uuid4().hex[:8]}")
    raw_url = next(url for name, url in raw_queue.items() if not name.endswith("-dlq"))
    figures.append(("raw SQS send+receive+delete", f"{raw_sqs_rate(endpoint, REGION, raw_url, E2E_TASKS):.0f} msg/s"))
    measured = Measured()
    with our_stack(database_url, endpoint, "bench", log_path) as stack:
        system = system_on(stack.base, stack.headers, database_url, "tasks", lambda: stack.start("relay", "esm"))
        system.stages = lambda ids: stage_seconds(database_url, ids)
        phases.measure_api_alone(system, measured)
        own_figures(system, stack.group, figures)
        created = counter(database_url, "SELECT count(*) FROM tasks")()[0][0]
        phases.measure_end_to_end(system, measured, created)
    return measured


def own_figures(system: System, group: ProcessGroup, figures: list[tuple[str, str]]) -> None:
    """What only this project has: the dashboard's live stream and the listing's memory bound."""

    def post_rate() -> float:
        posts = closed_loop("POST", f"{system.base}/tasks", clients=CLIENTS, total=2_000, body=task_body,
                            headers=system.headers)  # fmt: skip
        return asyncio.run(posts).rate

    cost = viewers_cost(f"{system.base}/stream", system.headers, VIEWERS, post_rate, rounds=VIEWER_ROUNDS)
    watched = (
        f"{cost['watched']:.0f} req/s against {cost['alone']:.0f} without ({cost['ratio'] - 1:+.1%}, medians of "
        f"{VIEWER_ROUNDS} alternated rounds; {cost['batches']} batches of changes delivered)"
    )
    figures.append((f"POST /tasks with {VIEWERS} dashboard viewers streaming", watched))
    page = worst_page(system.base, system.headers, group.processes["api"].pid)
    answered = (
        f"a page of {page['tasks']} tasks, {page['page_mb']:.1f} MB; API resident {page['resident_mb']:.0f} MB, "
        f"peak {page['peak_mb']:.0f} MB while answering"
    )
    figures.append((f"GET /tasks?include=payload,result over {TASKS_OF_1_MB} tasks of 1 MB", answered))


def run_peer(database_url: str, scratch: Path) -> Measured:
    peer.create_schema(database_url)
    port, redis_port = free_port(), free_port()
    commands = peer.peer_commands(port, redis_port, scratch)
    env = peer.peer_env(database_url, redis_port)
    base = f"http://127.0.0.1:{port}"
    measured = Measured()
    with open(scratch / "peer.log", "w") as log_file:
        group = ProcessGroup(output=log_file)
        try:
            peer.start(group, commands, env, "redis", "api")
            wait_until_healthy(f"{base}/health")
            system = system_on(base, {}, database_url, "peer_tasks", lambda: peer.start(group, commands, env, "worker"))
            phases.measure_api_alone(system, measured)
            created = counter(database_url, "SELECT count(*) FROM peer_tasks")()[0][0]
            phases.measure_end_to_end(system, measured, created)
        finally:
            group.stop_all()
    return measured


def main() -> None:
    use_local_credentials()
    figures: list[tuple[str, str]] = []
    with tempfile.TemporaryDirectory(prefix="taskflow-bench-") as scratch_dir:
        scratch = Path(scratch_dir)
        with server_for_tests(scratch) as server:
            ours_db, peer_db = (create_database(server, f"{name}_{uuid.uuid4().hex[:8]}")
                                for name in ("taskflow_bench", "taskflow_bench_peer"))  # fmt: skip
            migrate(ours_db)
            try:
                with find_or_start_sqs(scratch) as endpoint:
                    ours = run_ours(ours_db, endpoint, scratch / "stack.log", figures)
                theirs = run_peer(peer_db, scratch)
            finally:
                for url in (ours_db, peer_db):
                    drop_database(server, url.rsplit("/", 1)[1])
    print_figures(ours, theirs, figures)


def print_figures(ours: Measured, theirs: Measured, figures: list[tuple[str, str]]) -> None:
    print(f"\ntaskflow bench ({sys.platform}, {os.cpu_count()} cores), one system after the other")
    rows = [("figure", "taskflow", peer.NAME, "ratio"), *phases.comparison(ours, theirs)]
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        print("  " + "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    print("  (ratio: taskflow's figure over the peer's; above 1 is better for rates, below 1 for times)")
    print(f"\n  taskflow's create -> succeeded at {phases.STEADY_RATE}/s, stage by stage (p50 / p99):")
    for stage, seconds in ours.stages.items():
        print(f"    {stage:<24} {ms(phases.percentile(seconds, 0.5)):>9} / {ms(phases.percentile(seconds, 0.99))}")
    print(f"\n  CPU per task by process: {cpu_line(ours)}  |  peer: {cpu_line(theirs)}")
    width = max(len(label) for label, _ in figures)
    for label, value in figures:
        print(f"  {label:<{width}}  {value}")
    print(f"  HTTP errors during the runs: {ours.errors} (taskflow), {theirs.errors} (peer)")


def cpu_line(measured: Measured) -> str:
    return ", ".join(f"{part} {ms(seconds)}" for part, seconds in measured.cpu_by_part.items())


if __name__ == "__main__":
    main()
