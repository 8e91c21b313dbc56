"""Listing tasks with filters and keyset cursors, over HTTP. Each test tags its tasks with a label of its own."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest

from tests.integration.lambda_events import body_of, event_for


@pytest.fixture
def label() -> str:
    return f"t-{uuid.uuid4().hex[:12]}"


def create(client, label: str, task_type="word_stats", payload=None) -> dict:
    body = {"type": task_type, "payload": payload or {"text": "x"}, "labels": [label]}
    return client.post("/tasks", json=body).json()


def ids(page: dict) -> list[str]:
    return [task["id"] for task in page["items"]]


def every_page(client, **params) -> list[str]:
    seen, cursor = [], None
    while True:
        page = client.get("/tasks", params={**params, **({"cursor": cursor} if cursor else {})}).json()
        seen += ids(page)
        cursor = page["next_cursor"]
        if not cursor:
            return seen


def test_a_label_filter_pages_newest_and_oldest_first_without_gaps(client, label):
    created = [create(client, label)["id"] for _ in range(7)]
    assert every_page(client, label=label, limit=3) == created[::-1]
    assert every_page(client, label=label, limit=3, order="oldest") == created


def test_several_statuses_at_once(client, label, handler, read):
    done, cancelled, waiting = (create(client, label) for _ in range(3))
    handler.invoke(event_for(body_of(read.task(uuid.UUID(done["id"])))))
    client.post(f"/tasks/{cancelled['id']}/cancel")
    listed = ids(
        client.get("/tasks", params=[("label", label), ("status", "succeeded"), ("status", "cancelled")]).json()
    )
    assert sorted(listed) == sorted([done["id"], cancelled["id"]])
    assert ids(client.get("/tasks", params={"label": label, "status": "pending"}).json()) == [waiting["id"]]


def test_type_filter(client, label):
    invoice = create(client, label, "invoice_fields", {"fields": {"Invoice": "1", "Date": "2024-01-01", "Total": "1"}})
    create(client, label)
    assert ids(client.get("/tasks", params={"label": label, "type": "invoice_fields"}).json()) == [invoice["id"]]


def test_created_at_range_is_inclusive_after_and_exclusive_before(client, label):
    first, second = create(client, label), create(client, label)
    boundary = second["created_at"]
    assert ids(client.get("/tasks", params={"label": label, "created_after": boundary}).json()) == [second["id"]]
    assert ids(client.get("/tasks", params={"label": label, "created_before": boundary}).json()) == [first["id"]]
    future = (datetime.now(UTC) + timedelta(days=1)).isoformat()
    assert ids(client.get("/tasks", params={"label": label, "created_after": future}).json()) == []


def test_a_cursor_only_works_for_the_order_it_was_issued_for(client, label):
    for _ in range(3):
        create(client, label)
    cursor = client.get("/tasks", params={"label": label, "limit": 1}).json()["next_cursor"]
    response = client.get("/tasks", params={"label": label, "limit": 1, "order": "oldest", "cursor": cursor})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "cursor"


def test_bad_filters_are_422_problems(client):
    for params in ({"status": "sleeping"}, {"order": "random"}, {"created_after": "yesterday"}):
        response = client.get("/tasks", params=params)
        assert response.status_code == 422, params
        assert response.headers["content-type"] == "application/problem+json"
