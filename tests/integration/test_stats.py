"""/stats: a tenant's own figures, from its tasks' rows, beside the shared queues' depths."""

from datetime import timedelta

import pytest
from sqlalchemy import update

from taskflow.clock import utc_now
from taskflow.db.models import Task

pytestmark = pytest.mark.integration


def test_counts_throughput_and_latency_are_the_tenants_own(app_for_other_tenant, client, sessions, queue, sqs_client):
    # A tenant of this test's own (app_for_other_tenant makes a new one); the shared test tenant is the other.
    client, other = app_for_other_tenant, client
    created = [
        client.post("/tasks", json={"type": "word_stats", "payload": {"text": f"t{i}"}}).json() for i in range(4)
    ]
    client.post("/tasks", json={"type": "invoice_fields", "payload": {"fields": {"Total": "1"}}})
    other.post("/tasks", json={"type": "word_stats", "payload": {"text": "not counted"}})
    now = utc_now()
    with sessions() as session:  # as the consumer would leave them: finished 2 s, 4 s, 10 s after creation
        finishes = [(2, timedelta(0)), (4, timedelta(minutes=5)), (10, timedelta(0))]
        for task, (seconds, ago) in zip(created[:3], finishes, strict=True):
            session.execute(
                update(Task)
                .where(Task.id == task["id"])
                .values(status="succeeded", created_at=now - ago - timedelta(seconds=seconds), finished_at=now - ago)
            )
        session.commit()
    sqs_client.send_message(QueueUrl=queue.dlq_url, MessageBody="dead")

    stats = client.get("/stats").json()

    assert stats["by_status"] == {"succeeded": 3, "pending": 2}
    assert stats["by_type"] == {"word_stats": {"succeeded": 3, "pending": 1}, "invoice_fields": {"pending": 1}}
    assert (stats["finished_last_minute"], stats["finished_last_hour"]) == (2, 3)
    assert stats["latency_p50_seconds"] == 4.0
    assert 9 <= stats["latency_p95_seconds"] <= 10
    assert stats["queues"]["dead_letter_queue"]["visible"] == 1
    assert client.get("/stats", headers={"X-API-Key": "wrong"}).status_code == 401


def test_schedules_and_webhook_deliveries_are_counted_for_their_tenant_only(app_for_other_tenant, client, sessions):
    mine, other = app_for_other_tenant, client
    schedule = {"type": "word_stats", "payload": {"text": "tick"}, "interval_seconds": 3600}
    first = mine.post("/schedules", json=schedule).json()
    mine.post("/schedules", json=schedule)
    mine.post(f"/schedules/{first['id']}/pause")
    other.post("/schedules", json=schedule)
    mine.put("/webhooks", json={"allowed_hosts": ["203.0.113.7"]})  # a documentation address: never sent to
    body = {"type": "word_stats", "payload": {"text": "x"}, "callback_url": "https://203.0.113.7/x"}
    for _ in range(2):  # each finishes at once, cancelled: a delivery each, pending until a relay sends it
        mine.post(f"/tasks/{mine.post('/tasks', json=body).json()['id']}/cancel")
    stats = mine.get("/stats").json()
    assert (stats["schedules"], stats["webhooks"]) == ({"active": 1, "paused": 1}, {"pending": 2})
    assert stats["by_status"] == {"cancelled": 2}
