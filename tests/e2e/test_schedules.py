"""A schedule every second for 30 seconds, fired by three relays at once: one task per occurrence, none missing,
none twice, each run by the consumer."""

import httpx
import psycopg

from devstack.processes import service_commands
from taskflow.db.engine import libpq_url
from tests.waiting import wait_until

SECONDS = 30


def occurrences(stack) -> list:
    with psycopg.connect(libpq_url(stack.env["DATABASE_URL"])) as connection:
        rows = connection.execute("SELECT occurrence_at, status FROM tasks WHERE schedule_id IS NOT NULL ORDER BY 1")
        return rows.fetchall()


def all_succeeded(rows: list) -> list | None:
    return rows if all(status == "succeeded" for _, status in rows) else None


def test_three_relays_make_exactly_one_task_per_occurrence(stack):
    relay = service_commands(0)["relay"]
    for name in ("relay-2", "relay-3"):  # with the relay's own database role, as on AWS
        stack.group.start(name, relay, stack.env | {"DATABASE_ROLE": "taskflow_relay"})
    api = httpx.Client(base_url=stack.base_url, headers=stack.headers)
    body = {"type": "word_stats", "payload": {"text": "tick"}, "interval_seconds": 1}
    schedule = api.post("/schedules", json=body).json()
    wait_until(lambda: len(occurrences(stack)) >= SECONDS, SECONDS + 30, f"{SECONDS} occurrences")
    api.post(f"/schedules/{schedule['id']}/pause").raise_for_status()
    done = wait_until(lambda: all_succeeded(occurrences(stack)), 60, "every scheduled task succeeding")
    times = [at for at, _ in done]
    assert len(times) == len(set(times)), "an occurrence got two tasks"
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:], strict=False)]
    assert set(gaps) == {1.0}, f"an occurrence was skipped or doubled: {gaps}"
    assert len(times) >= SECONDS
