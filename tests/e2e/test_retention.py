"""Retention through the real processes: with retentions of seconds, the relay deletes finished tasks with their
history and published outbox rows while a waiting and a delayed task stay, and counts what it deleted on /metrics."""

import httpx
import psycopg

from taskflow.db.engine import libpq_url
from tests.e2e.conftest import running_stack
from tests.e2e.test_consumer_metrics import scrape
from tests.e2e.test_task_flow import create, finished
from tests.ports import free_port
from tests.waiting import wait_until

# Outbox rows go a second after they were sent, long before their tasks' turn (which would take them along).
RETENTION = {"RETAIN_PUBLISHED_OUTBOX": "PT1S", "RETAIN_FINISHED_TASKS": "PT8S", "PRUNE_INTERVAL_SECONDS": "0.5"}


def test_the_relay_prunes_finished_tasks_and_keeps_live_ones(postgres_server_url, sqs_endpoint, tmp_path):
    relay_port = free_port()
    env = RETENTION | {"RELAY_METRICS_PORT": str(relay_port), "PRUNE_BATCH_SIZE": "7"}
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path / "log", env=env) as stack:
        api = httpx.Client(base_url=stack.base_url, headers=stack.headers)
        delayed = api.post("/tasks", json={"type": "word_stats", "payload": {"text": "later"}, "delay_seconds": 3600})
        waiting = api.post("/tasks", json={"type": "word_stats", "payload": {"text": "after"},
                                           "after": [delayed.json()["id"]]})  # fmt: skip
        done = [create(stack, "word_stats", {"text": f"prune me {i}"})["id"] for i in range(20)]
        for task_id in done:
            wait_until(lambda task_id=task_id: finished(stack, task_id), 30, "the tasks finishing")

        gone = lambda: all(api.get(f"/tasks/{t}").status_code == 404 for t in done)  # noqa: E731
        wait_until(gone, 30, "the finished tasks pruned")
        relay = scrape(f"http://127.0.0.1:{relay_port}/metrics")
        kept = [api.get(f"/tasks/{r.json()['id']}").json()["status"] for r in (delayed, waiting)]
        with psycopg.connect(libpq_url(stack.env["DATABASE_URL"])) as connection:
            query = "SELECT count(*) FROM task_events WHERE task_id = ANY(%s::uuid[])"
            [(events,)] = connection.execute(query, (done,)).fetchall()

    assert kept == ["scheduled", "waiting"]
    assert relay[("taskflow_rows_pruned_total", (("kind", "published_outbox"),))] >= 20
    assert relay[("taskflow_rows_pruned_total", (("kind", "finished_tasks"),))] >= 20
    assert events == 0, "a pruned task's events go with it"
