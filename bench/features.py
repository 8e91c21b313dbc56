"""`make bench-features`: what each feature of a task system costs, end to end, against plain tasks.

Each row starts the whole stack afresh (as `make bench-scaling` does, with its defaults) and makes TASKS tasks that
use one feature: priority 9 on every other task (the high queue beside the normal one), a delay of one second (SQS's
DelaySeconds), a completion webhook on every task (to a receiver on this machine; the row ends when every webhook was
delivered), `after` (every other task waits for the one before it, so half are released by their prerequisite's
success), and recurring schedules (100 schedules every second make the tasks; the rate is theirs, 100/s, so only the
CPU per task compares). It prints tasks per second and CPU per task by process. Nothing asserts a figure.
"""

import asyncio
import itertools
import os
import tempfile
import time
from pathlib import Path

import aiohttp
import httpx

from bench.load import closed_loop
from bench.ours import use_local_credentials
from bench.phases import CLIENTS, counter, task_body
from bench.scaling import TASKS, create_plain, measure_row, print_row
from devstack.localstack import sqs_endpoint as find_or_start_sqs
from devstack.postgres import migrated_database, server_for_tests
from tests.webhook_receiver import webhook_receiver

SCHEDULES = 100


def create_with(extra) -> callable:
    """A create step whose task bodies are word_stats with `extra()` merged in."""

    async def create(base: str, headers: dict, total: int) -> int:
        body = lambda: task_body() | extra()  # noqa: E731
        created = await closed_loop("POST", f"{base}/tasks", clients=CLIENTS, total=total, body=body, headers=headers)
        return total - created.errors

    return create


async def create_pairs(base: str, headers: dict, total: int) -> int:
    """`total` tasks as pairs, the second of each `after` the first; return how many were made."""
    made, remaining = 0, iter(range(total // 2))

    async def client(session: aiohttp.ClientSession) -> None:
        nonlocal made
        for _ in remaining:
            async with session.post(f"{base}/tasks", json=task_body()) as response:
                if response.status >= 400:
                    continue
                first = (await response.json())["id"]
                made += 1
            async with session.post(f"{base}/tasks", json=task_body() | {"after": [first]}) as response:
                made += response.status < 400

    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CLIENTS), headers=headers) as session:
        await asyncio.gather(*(client(session) for _ in range(CLIENTS)))
    return made


def scheduled(database_url: str):
    """Create steps and preparation for tasks made by SCHEDULES schedules every second, paused between steps."""
    made_by_schedules = counter(database_url, "SELECT count(*) FROM tasks WHERE schedule_id IS NOT NULL")
    ids: list[str] = []

    def prepare(base: str, headers: dict) -> None:
        body = task_body() | {"interval_seconds": 1, "paused": True}
        with httpx.Client(base_url=base, headers=headers) as api:
            ids.extend(api.post("/schedules", json=body).raise_for_status().json()["id"] for _ in range(SCHEDULES))

    async def create(base: str, headers: dict, total: int) -> int:
        before = made_by_schedules()[0][0]
        async with httpx.AsyncClient(base_url=base, headers=headers) as api:
            await asyncio.gather(*(api.post(f"/schedules/{i}/resume") for i in ids))
            while made_by_schedules()[0][0] - before < total:
                await asyncio.sleep(0.05)
            await asyncio.gather(*(api.post(f"/schedules/{i}/pause") for i in ids))
        return made_by_schedules()[0][0] - before

    return prepare, create


def allow_loopback_webhooks(base: str, headers: dict) -> None:
    httpx.put(f"{base}/webhooks", json={"allowed_hosts": ["127.0.0.1"]}, headers=headers).raise_for_status()


def all_delivered(database_url: str, count: int, timeout: float = 300) -> float:
    """Block until `count` webhooks were delivered; return when (perf_counter)."""
    delivered = counter(database_url, "SELECT count(*) FROM webhook_deliveries WHERE status = 'delivered'")
    deadline = time.perf_counter() + timeout
    while delivered()[0][0] < count:
        if time.perf_counter() > deadline:
            raise TimeoutError(f"fewer than {count} webhooks delivered in {timeout}s")
        time.sleep(0.05)
    return time.perf_counter()


def rows(database_url: str, receiver_url: str) -> list[tuple]:
    """(label, mapping settings, create, prepare, settled) for each row."""
    priorities = itertools.cycle([9, 0])
    schedule_prepare, schedule_create = scheduled(database_url)
    return [
        ("plain word_stats tasks (the baseline)", {}, create_plain, None, None),
        ("priority 9 on every other task", {}, create_with(lambda: {"priority": next(priorities)}), None, None),
        ("delay_seconds 1 on every task", {}, create_with(lambda: {"delay_seconds": 1}), None, None),
        ("a completion webhook on every task", {"WEBHOOKS_ALLOW_HTTP_LOOPBACK": "true"},
         create_with(lambda: {"callback_url": receiver_url}), allow_loopback_webhooks, all_delivered),  # fmt: skip
        ("after: every other task waits for the one before", {}, create_pairs, None, None),
        (f"made by {SCHEDULES} schedules every second (rate theirs)", {}, schedule_create, schedule_prepare, None),
    ]


def main() -> None:
    use_local_credentials()
    print(f"taskflow bench-features ({os.cpu_count()} cores): {TASKS} tasks by {CLIENTS} clients per row")
    wanted = os.environ.get("FEATURE_ROWS", "")  # any part of a row's label: only those rows
    with tempfile.TemporaryDirectory(prefix="taskflow-features-") as scratch_dir:
        scratch = Path(scratch_dir)
        with server_for_tests(scratch) as server, find_or_start_sqs(scratch) as endpoint, webhook_receiver() as hook:
            for index, (label, *_) in enumerate(rows("", hook.url)):
                if wanted not in label:
                    continue
                with migrated_database(server, "taskflow_features") as database_url:
                    _, mapping, create, prepare, settled = rows(database_url, hook.url)[index]
                    rate, cpu = measure_row(database_url, endpoint, mapping, 1, scratch / "stack.log",
                                            create=create, prepare=prepare, settled=settled)  # fmt: skip
                print_row(label, rate, cpu)


if __name__ == "__main__":
    main()
