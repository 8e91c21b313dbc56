"""A task system under fire: real processes, a few thousand tasks, and an account of every task at the end."""

import json
import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import httpx
import psycopg

from taskflow.db.engine import libpq_url

TASKS = int(os.environ.get("FAULT_TASKS", "2000"))
TERMINAL = ("succeeded", "failed", "cancelled")


def create_tasks(base_url: str, headers: dict, count: int, clients: int = 8, delays: int = 0) -> list[str]:
    """Create `count` tasks over HTTP; each create is retried with its Idempotency-Key until the API answers 201.
    With `delays`, the tasks are delayed by 1 to `delays` seconds."""

    def create(index: int, client: httpx.Client) -> str:
        key = f"fault-{uuid.uuid4()}"
        body = {"type": "word_stats", "payload": {"text": f"fault {index} under fire fire"}}
        if delays:
            body["delay_seconds"] = 1 + index % delays
        while True:
            try:
                response = client.post("/tasks", json=body, headers={"Idempotency-Key": key})
                if response.status_code in (200, 201):
                    return response.json()["id"]
            except httpx.TransportError:
                pass
            time.sleep(0.2)  # the API or its database is restarting: the same key makes the retry safe

    local = threading.local()

    def create_with_own_client(index: int) -> str:
        if not hasattr(local, "client"):
            local.client = httpx.Client(base_url=base_url, headers=headers, timeout=10)
        return create(index, local.client)

    with ThreadPoolExecutor(clients) as pool:
        return list(pool.map(create_with_own_client, range(count)))


@dataclass
class Account:
    """What became of each task: run (finished once), lost (never finished), duplicated (finished twice)."""

    tasks: int
    run: int
    cancelled: int
    lost: int
    duplicated: int
    recovered: int  # claims that took over or requeued a task whose consumer died: proof the fault hit mid-run

    def line(self, fault: str) -> str:
        return (
            f"{fault}: {self.tasks} tasks, run {self.run}, cancelled {self.cancelled}, lost {self.lost}, "
            f"duplicated with effect {self.duplicated} (recoveries {self.recovered})"
        )


ACCOUNT = """
SELECT t.id::text, t.status, t.result IS NOT NULL,
       count(e.id) FILTER (WHERE e.to_status IN ('succeeded', 'failed', 'cancelled')),
       count(e.id) FILTER (WHERE e.detail ? 'taken_over' OR e.detail ? 'recovered')
FROM tasks t LEFT JOIN task_events e ON e.task_id = t.id
WHERE t.id = ANY(%s::uuid[]) GROUP BY t.id
"""


def account(database_url: str, task_ids: list[str]) -> Account:
    """Count what became of the tasks, from their rows and their events."""
    with psycopg.connect(libpq_url(database_url)) as connection:
        rows = connection.execute(ACCOUNT, (task_ids,)).fetchall()
    found = {row[0] for row in rows}
    finished_once = [r for r in rows if r[1] in TERMINAL and r[3] == 1]
    succeeded_without_result = [r for r in rows if r[1] == "succeeded" and not r[2]]
    assert not succeeded_without_result, f"succeeded without a result: {succeeded_without_result[:3]}"
    return Account(
        tasks=len(task_ids),
        run=sum(1 for r in finished_once if r[1] != "cancelled"),
        cancelled=sum(1 for r in finished_once if r[1] == "cancelled"),
        lost=len(set(task_ids) - found) + sum(1 for r in rows if r[1] not in TERMINAL),
        duplicated=sum(1 for r in rows if r[3] > 1),
        recovered=sum(r[4] for r in rows),
    )


def some_task_running(database_url: str) -> bool:
    """Whether a consumer holds a task right now (a kill then lands mid-batch)."""
    with psycopg.connect(libpq_url(database_url)) as connection:
        return connection.execute("SELECT EXISTS (SELECT 1 FROM tasks WHERE status = 'running')").fetchone()[0]


def wait_until_settled(database_url: str, task_ids: list[str], timeout: float) -> Account:
    """Poll until every task finished (or `timeout` passed); return the account."""
    deadline = time.monotonic() + timeout
    while True:
        result = account(database_url, task_ids)
        if result.lost == 0 or time.monotonic() > deadline:
            return result
        time.sleep(0.5)


def report(fault: str, result: Account) -> None:
    """Print the account, and add it to FAULT_REPORT (a JSON lines file) when set."""
    print(result.line(fault))
    if path := os.environ.get("FAULT_REPORT"):
        with Path(path).open("a") as file:
            file.write(json.dumps({"fault": fault, **result.__dict__}) + "\n")
