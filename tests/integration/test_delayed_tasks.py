"""Delayed tasks against a real PostgreSQL and SQS endpoint: `scheduled` until run_at, published with SQS's
DelaySeconds once due within 15 minutes, kept in the outbox before that; cancelled or rescheduled before they run."""

import time
import uuid
from datetime import UTC, datetime, timedelta, timezone

from relay.sqs_sender import SqsSender
from taskflow.domain.messages import TaskMessage
from tests.integration.test_outbox import publish_all
from tests.waiting import wait_until


def create(client, **fields) -> dict:
    response = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "later"}, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def received_ids(sqs_client, url: str) -> set[uuid.UUID]:
    messages = sqs_client.receive_message(QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=0).get("Messages", [])
    return {TaskMessage.from_body(m["Body"]).task_id for m in messages}


def test_a_task_due_soon_is_published_with_its_delay_and_stays_scheduled(client, sessions, sqs_client, queue, read):
    task = create(client, delay_seconds=3)
    assert (task["status"], task["run_at"] is not None) == ("scheduled", True)
    publish_all(sessions, SqsSender(sqs_client, queue.url, queue.high_priority_url))
    published = time.monotonic()
    task_id = uuid.UUID(task["id"])
    assert read.outbox(task_id)[0].published_at is not None
    assert read.task(task_id).status == "scheduled", "published, but not queued before its time"
    assert task_id not in received_ids(sqs_client, queue.url), "SQS holds it back"
    wait_until(lambda: task_id in received_ids(sqs_client, queue.url), 20, "the delayed message arriving")
    assert time.monotonic() - published >= 1.5


def test_a_task_due_in_more_than_15_minutes_waits_in_the_outbox(client, sessions, sqs_client, queue, read):
    task = create(client, run_at=(datetime.now(UTC) + timedelta(minutes=20)).isoformat())
    publish_all(sessions, SqsSender(sqs_client, queue.url, queue.high_priority_url))
    [row] = read.outbox(uuid.UUID(task["id"]))
    assert row.published_at is None and row.due_at is not None


def test_a_scheduled_task_can_be_rescheduled_and_cancelled(client, sessions, sqs_client, queue, read):
    task = create(client, delay_seconds=3600)
    url = f"/tasks/{task['id']}"
    moved = client.patch(url, json={"delay_seconds": 0}, headers={"If-Match": f'"{task["version"]}"'})
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["run_at"]) == ("pending", None)
    publish_all(sessions, SqsSender(sqs_client, queue.url, queue.high_priority_url))
    task_id = uuid.UUID(task["id"])
    rows = read.outbox(task_id)
    assert [row.published_at is not None for row in rows] == [False, True], "the new message leaves at once"
    assert read.task(task_id).dispatched_version == moved.json()["version"], "the old message is stale"
    in_a_month = (datetime.now(UTC) + timedelta(days=30)).replace(microsecond=0)
    paris = in_a_month.astimezone(timezone(timedelta(hours=1))).isoformat()
    later = client.patch(url, json={"run_at": paris}, headers={"If-Match": "*"}).json()
    assert (later["status"], datetime.fromisoformat(later["run_at"])) == ("scheduled", in_a_month)
    assert client.post(f"{url}/cancel").json()["status"] == "cancelled"
    events = [(e["from_status"], e["to_status"]) for e in client.get(f"{url}/events").json()]
    assert events == [(None, "scheduled"), ("scheduled", "pending"), ("pending", "queued"), ("queued", "scheduled"),
                      ("scheduled", "cancelled")]  # fmt: skip


def test_bad_run_times_are_refused_with_a_problem(client):
    soon = (datetime.now(UTC) + timedelta(minutes=1)).isoformat()
    for fields in (
        {"run_at": soon, "delay_seconds": 5},
        {"run_at": "2030-01-01T00:00:00"},  # no time zone
        {"run_at": "tomorrow"},
        {"delay_seconds": -1},
        {"delay_seconds": 400 * 86_400},
        {"run_at": (datetime.now(UTC) + timedelta(days=400)).isoformat()},
    ):
        response = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "x"}, **fields})
        assert response.status_code == 422, (fields, response.text)
        assert response.headers["content-type"] == "application/problem+json"
    assert create(client, run_at="2000-01-01T00:00:00Z")["status"] == "pending", "a time past runs at once"


def test_asking_a_task_already_on_its_way_to_run_at_once_changes_nothing(client, sessions, sqs_client, queue, read):
    task = create(client)
    publish_all(sessions, SqsSender(sqs_client, queue.url, queue.high_priority_url))
    assert read.task(uuid.UUID(task["id"])).status == "queued"
    for at_once in ({"delay_seconds": 0}, {"run_at": "2000-01-01T00:00:00Z"}):
        response = client.patch(f"/tasks/{task['id']}", json=at_once, headers={"If-Match": "*"})
        assert response.status_code == 200, response.text
        assert (response.json()["status"], response.json()["run_at"]) == ("queued", None)
    assert len(read.outbox(uuid.UUID(task["id"]))) == 1, "no second message"
