"""`make bench-scaling`: how end-to-end throughput and CPU per task move with the settings a user picks on AWS:
the mapping's maximum concurrency, the API's workers, and the batch size (with a batching window).

Each row starts the whole stack afresh (its own database and queue) with one setting changed from the defaults,
creates TASKS tasks over HTTP with 32 clients while the consumers run, and times them until every one succeeded,
with the CPU every process spent meanwhile. Nothing asserts a figure. Maximum concurrency 1 is not a row: AWS
refuses it (2 to 1000), as the local mapping does; a function's reserved concurrency of 1 is how AWS gets there.
"""

import asyncio
import os
import tempfile
import time
from pathlib import Path

from bench.cpu import cpu_seconds_by_part, spent_since
from bench.load import closed_loop
from bench.ours import our_stack, use_local_credentials
from bench.phases import CLIENTS, system_on, task_body, wait_for_finished
from devstack.localstack import sqs_endpoint as find_or_start_sqs
from devstack.postgres import migrated_database, server_for_tests

TASKS, WARM_UP = 3_000, 300
# (row, mapping settings, API workers): each changes one thing from the defaults (the first row).
ROWS = [
    ("defaults: concurrency 2, batch 10, no window, 1 API worker", {}, 1),
    ("maximum concurrency 4", {"ESM_MAXIMUM_CONCURRENCY": "4"}, 1),
    ("maximum concurrency 8", {"ESM_MAXIMUM_CONCURRENCY": "8"}, 1),
    ("2 API workers", {}, 2),
    ("batch size 1", {"ESM_BATCH_SIZE": "1"}, 1),
    ("batch size 100, window 1 s", {"ESM_BATCH_SIZE": "100", "ESM_MAXIMUM_BATCHING_WINDOW_IN_SECONDS": "1"}, 1),
]


async def create_plain(base: str, headers: dict, total: int) -> int:
    """Create `total` word_stats tasks over HTTP with CLIENTS clients; return how many were made."""
    created = await closed_loop("POST", f"{base}/tasks", clients=CLIENTS, total=total, body=task_body, headers=headers)
    return total - created.errors


def measure_row(database_url: str, endpoint: str, mapping: dict, api_workers: int, log_path: Path,
                create=create_plain, prepare=None, settled=None) -> tuple:  # fmt: skip
    """(tasks per second end to end, CPU seconds per task by part of the system) for the stack with these settings.

    `create(base, headers, total)` makes the tasks (a coroutine; returns how many it made), `prepare(base, headers)`
    runs before the warm-up, and `settled(database_url, tasks)` (if given) is waited for after the tasks finished."""
    with our_stack(database_url, endpoint, "scaling", log_path, api_workers, **mapping) as stack:
        base, headers = stack.base, stack.headers
        stack.start("relay", "esm")
        system = system_on(base, headers, database_url, "tasks", lambda: None)
        if prepare:
            prepare(base, headers)
        warmed = asyncio.run(create(base, headers, WARM_UP))
        wait_for_finished(system, warmed)
        cpu_before, started = cpu_seconds_by_part(), time.perf_counter()
        finished = asyncio.run(create(base, headers, TASKS))
        done = wait_for_finished(system, warmed + finished, timeout=900)
        if settled:
            done = settled(database_url, warmed + finished)
        return finished / (done - started), {part: cpu / finished for part, cpu in spent_since(cpu_before).items()}


def main() -> None:
    use_local_credentials()
    print(f"taskflow bench-scaling ({os.cpu_count()} cores): {TASKS} tasks by {CLIENTS} clients per row")
    with tempfile.TemporaryDirectory(prefix="taskflow-scaling-") as scratch_dir:
        scratch = Path(scratch_dir)
        with server_for_tests(scratch) as server, find_or_start_sqs(scratch) as endpoint:
            # SCALING_ROWS=defaults (any part of a row's label) measures only the rows it names, for a quick A/B.
            wanted = os.environ.get("SCALING_ROWS", "")
            for label, mapping, api_workers in (row for row in ROWS if wanted in row[0]):
                with migrated_database(server, "taskflow_scaling") as database_url:
                    rate, cpu = measure_row(database_url, endpoint, mapping, api_workers, scratch / "stack.log")
                print_row(label, rate, cpu)


def print_row(label: str, rate: float, cpu: dict[str, float]) -> None:
    """A row's rate and CPU per task, then the CPU by part of the system."""
    parts = ", ".join(f"{part} {ms * 1000:.2f}" for part, ms in cpu.items() if ms > 0)
    print(f"  {label:<58} {rate:6.0f} tasks/s   CPU {sum(cpu.values()) * 1000:5.2f} ms per task", flush=True)
    print(f"  {'':<58} ({parts})", flush=True)


if __name__ == "__main__":
    main()
