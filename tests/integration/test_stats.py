"""/stats: a tenant's own figures, from its tasks' rows, beside the shared queues' depths."""

import uuid
from datetime import datetime, timedelta

import pytest
from sqlalchemy import update

from taskflow.clock import utc_now
from taskflow.db.models import DeadLetter, OutboxMessage, Task, TaskEvent

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


def shift_task(session, task_id, *, created: datetime, published: float, received: float, claimed: float, done: float):
    """Give a task the stage times of one that went the whole path, `published`... seconds after `created`."""
    at = lambda seconds: created + timedelta(seconds=seconds)  # noqa: E731
    session.execute(update(Task).where(Task.id == task_id).values(
        status="succeeded", created_at=created, started_at=at(claimed), finished_at=at(done)))  # fmt: skip
    # SQS's own send time is the one counted; the relay stamps published_at after its send has returned.
    after_the_send = at(published + 0.05)
    session.execute(update(OutboxMessage).where(OutboxMessage.task_id == task_id).values(published_at=after_the_send))
    detail = {"sent_at": at(published).isoformat(), "received_at": at(received).isoformat()}
    session.add(TaskEvent(task_id=task_id, from_status="queued", to_status="running", created_at=at(claimed),
                          detail=detail))  # fmt: skip


def create(client, count: int, task_type: str = "word_stats", payload: dict | None = None) -> list[str]:
    body = {"type": task_type, "payload": payload or {"text": "x"}}
    return [client.post("/tasks", json=body).json()["id"] for _ in range(count)]


def test_the_pipeline_counts_the_tenants_tasks_in_stages_and_times_each_stage(app_for_other_tenant, client, sessions):
    mine, other = app_for_other_tenant, client
    ids = create(mine, 6)
    other.post("/tasks", json={"type": "word_stats", "payload": {"text": "not counted"}})
    now = utc_now()
    with sessions() as session:
        times = [(0.1, 0.3, 0.6, 1.6), (0.3, 0.7, 1.2, 2.2)]
        for task_id, (published, received, claimed, done) in zip(ids[:2], times, strict=True):
            shift_task(session, task_id, created=now - timedelta(seconds=10), published=published, received=received,
                       claimed=claimed, done=done)  # fmt: skip
        shift_task(session, ids[2], created=now - timedelta(minutes=5), published=9, received=9, claimed=9, done=9)
        session.execute(update(Task).where(Task.id == ids[3]).values(status="queued"))
        session.execute(update(Task).where(Task.id == ids[4]).values(status="running"))
        owner = session.get(Task, ids[5]).tenant_id
        session.add(DeadLetter(message_id=str(uuid.uuid4()), tenant_id=owner, task_id=ids[5], body="{}",
                               receive_count=5, sent_at=now))  # fmt: skip
        session.commit()

    pipeline = mine.get("/stats/pipeline").json()

    # Unsent: the three not given a send time (the other tenant's is not counted).
    assert (pipeline["unpublished"], pipeline["queued"], pipeline["running"], pipeline["dead_letters"]) == (3, 1, 1, 1)
    stages = pipeline["stages"]  # over the two tasks of the last minute: the one of 5 minutes ago is not in it
    assert stages["committed_to_published"] == {"tasks": 2, "p50_seconds": 0.2, "p99_seconds": pytest.approx(0.298)}
    assert stages["published_to_received"]["p50_seconds"] == pytest.approx(0.3)
    assert stages["received_to_claimed"]["p50_seconds"] == pytest.approx(0.4)
    assert stages["claimed_to_finished"] == {"tasks": 2, "p50_seconds": 1.0, "p99_seconds": 1.0}
    assert set(pipeline["queues"]) >= {"queue", "dead_letter_queue"}


def test_history_counts_each_types_changes_by_bucket_for_the_tenant_only(app_for_other_tenant, client, sessions):
    mine, other = app_for_other_tenant, client
    words = create(mine, 3)
    create(mine, 1, "invoice_fields", {"fields": {"Total": "1"}})
    other.post("/tasks", json={"type": "word_stats", "payload": {"text": "not counted"}})
    now = utc_now()
    with sessions() as session:
        session.execute(update(Task).where(Task.id.in_(words[:2])).values(created_at=now - timedelta(seconds=2)))
        for task_id, to_status in [(words[0], "succeeded"), (words[1], "failed")]:
            session.add(TaskEvent(task_id=task_id, from_status="running", to_status=to_status, created_at=now))
        session.add(TaskEvent(task_id=words[2], from_status="running", to_status="queued", created_at=now))
        # Ten minutes ago: outside a five-minute window.
        session.add(TaskEvent(task_id=words[2], from_status="running", to_status="succeeded",
                              created_at=now - timedelta(minutes=10)))  # fmt: skip
        session.add(DeadLetter(message_id=str(uuid.uuid4()), tenant_id=session.get(Task, words[2]).tenant_id,
                               task_id=words[2], body="{}", receive_count=5, sent_at=now))  # fmt: skip
        session.commit()

    history = mine.get("/stats/history", params={"minutes": 5, "bucket_seconds": 60}).json()

    totals = {}
    series = ["created", "succeeded", "failed", "retried", "dead_lettered"]
    for point in history["points"]:  # summed: the writes above may straddle two buckets
        kind = totals.setdefault(point["type"], dict.fromkeys(series, 0))
        for name in kind:
            kind[name] += point[name]
    assert totals == {
        "word_stats": {"created": 3, "succeeded": 1, "failed": 1, "retried": 1, "dead_lettered": 1},
        "invoice_fields": {"created": 1, "succeeded": 0, "failed": 0, "retried": 0, "dead_lettered": 0},
    }
    succeeded = next(p for p in history["points"] if p["succeeded"])
    assert succeeded["latency_p50_seconds"] == pytest.approx(2, abs=0.01)
    assert all(point["at"] >= history["since"] for point in history["points"])


@pytest.mark.parametrize("query", ["minutes=0", "minutes=61", "bucket_seconds=0", "bucket_seconds=301", "minutes=x"])
def test_history_refuses_a_window_it_does_not_serve_with_a_problem(client, query):
    response = client.get(f"/stats/history?{query}")
    assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


@pytest.mark.parametrize(("minutes", "bucket_seconds"), [(15, 10), (1, 300), (2, 200), (60, 7)])
def test_the_history_window_covers_the_minutes_asked_in_aligned_buckets(client, minutes, bucket_seconds):
    before = utc_now()
    since = datetime.fromisoformat(client.get(f"/stats/history?minutes={minutes}&bucket_seconds={bucket_seconds}")
                                   .json()["since"])  # fmt: skip
    after, window = utc_now(), timedelta(minutes=minutes)
    assert before - window - timedelta(seconds=bucket_seconds) < since <= after - window
    assert since.timestamp() % bucket_seconds == 0
