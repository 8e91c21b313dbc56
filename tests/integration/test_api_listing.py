"""Listing tasks with filters and keyset cursors, over HTTP. Each test tags its tasks with a label of its own."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ApiSettings
from taskflow.domain.messages import TaskMessage
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


def test_a_listing_carries_no_payload_or_result_unless_asked(client, label, handler):
    task = create(client, label, payload={"text": "payload of the listing test"})
    handler.invoke(event_for(body_of_id(task)))
    [plain] = client.get("/tasks", params={"label": label}).json()["items"]
    assert "payload" not in plain and "result" not in plain and plain["status"] == "succeeded"
    [full] = client.get("/tasks", params={"label": label, "include": "payload,result"}).json()["items"]
    assert full["payload"]["text"] == "payload of the listing test" and full["result"]["words"] == 5
    [payload_only] = client.get("/tasks", params={"label": label, "include": "payload"}).json()["items"]
    assert "payload" in payload_only and "result" not in payload_only
    assert client.get("/tasks", params={"include": "secrets"}).status_code == 422


def test_a_page_of_big_payloads_stops_before_its_byte_limit_and_the_next_page_goes_on(api_for_page_bytes, label):
    client, max_bytes = api_for_page_bytes
    big = [create(client, label, payload={"text": "x" * 300_000})["id"] for _ in range(5)]
    pages, cursor = [], None
    while True:
        params = {"label": label, "include": "payload", "limit": 5, **({"cursor": cursor} if cursor else {})}
        page = client.get("/tasks", params=params)
        pages.append([task["id"] for task in page.json()["items"]])
        assert len(page.content) < max_bytes + 100_000, "the page stopped before its byte limit"
        if not (cursor := page.json()["next_cursor"]):
            break
    assert [len(p) for p in pages] == [3, 2]
    assert [task_id for p in pages for task_id in p] == list(reversed(big)), "no gap, no repeat"


def test_one_task_bigger_than_the_byte_limit_is_still_listed_alone(api_for_page_bytes, label):
    client, _ = api_for_page_bytes
    created = [create(client, label, payload={"text": "y" * 1_000_000})["id"] for _ in range(2)]
    page = client.get("/tasks", params={"label": label, "include": "payload", "limit": 10}).json()
    assert [task["id"] for task in page["items"]] == [created[1]] and page["next_cursor"]


@pytest.fixture
def api_for_page_bytes(database_url, sqs_endpoint, queue, tenant):
    """The API with a page limit of 1,000,000 bytes of payloads and results."""
    settings = ApiSettings(
        database_url=database_url, aws_endpoint_url=sqs_endpoint, queue_name=queue.name, max_page_bytes=1_000_000
    )
    with TestClient(create_app(settings), headers={"X-API-Key": tenant.key}) as client:
        yield client, settings.max_page_bytes


def body_of_id(task: dict) -> str:
    return TaskMessage(task_id=task["id"], version=task["version"], correlation_id=task["correlation_id"]).to_body()
