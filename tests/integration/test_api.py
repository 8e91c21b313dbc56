"""The task API over HTTP, against a real PostgreSQL and a real SQS endpoint."""

import socket
import time
import uuid

from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ApiSettings


def test_creating_a_task_returns_201_with_its_location_and_the_request_id_as_correlation_id(client, read):
    response = client.post(
        "/tasks", json={"type": "word_stats", "payload": {"text": "hi there"}}, headers={"X-Request-ID": "create-1"}
    )
    assert response.status_code == 201
    task = response.json()
    assert response.headers["location"] == f"/tasks/{task['id']}"
    assert (task["status"], task["correlation_id"], task["payload"]) == (
        "pending",
        "create-1",
        {"text": "hi there", "top": 5},
    )
    assert read.outbox(uuid.UUID(task["id"]))[0].attributes["correlation_id"]["StringValue"] == "create-1"


def test_a_task_can_be_read_back_with_its_history(client):
    created = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "x"}}).json()
    assert client.get(f"/tasks/{created['id']}").json() == created
    events = client.get(f"/tasks/{created['id']}/events").json()
    assert [(e["from_status"], e["to_status"]) for e in events] == [(None, "pending")]


def test_an_unknown_task_is_a_404_problem(client):
    response = client.get(f"/tasks/{uuid.uuid4()}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:taskflow:problem:task-not-found"
    assert client.get(f"/tasks/{uuid.uuid4()}/events").status_code == 404


def test_listing_is_newest_first_and_pages_with_a_cursor(client):
    created = [
        client.post("/tasks", json={"type": "word_stats", "payload": {"text": f"t{i}"}}).json()["id"] for i in range(3)
    ]
    first = client.get("/tasks", params={"limit": 2}).json()
    assert [t["id"] for t in first["items"]] == created[::-1][:2]
    second = client.get("/tasks", params={"limit": 2, "cursor": first["next_cursor"]}).json()
    assert second["items"][0]["id"] == created[0]


def test_a_forged_cursor_or_an_out_of_range_limit_is_a_422_problem(client):
    assert client.get("/tasks", params={"cursor": "garbage"}).status_code == 422
    assert client.get("/tasks", params={"limit": 0}).status_code == 422
    assert client.get("/tasks", params={"limit": 201}).status_code == 422


def test_ready_when_database_and_queue_answer(client):
    response = client.get("/ready")
    assert response.status_code == 200
    assert response.json() == {"status": "ready", "checks": {"database": "ok", "queue": "ok"}}


def test_not_ready_when_the_queue_is_unreachable(database_url):
    settings = ApiSettings(database_url=database_url, aws_endpoint_url="http://127.0.0.1:9", queue_name="q")
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
        assert client.get("/health").status_code == 200
    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["checks"] == {"database": "ok", "queue": "unreachable"}


def test_not_ready_when_the_database_is_unreachable(sqs_endpoint, queue):
    settings = ApiSettings(
        database_url="postgresql://postgres@127.0.0.1:9/none", aws_endpoint_url=sqs_endpoint, queue_name=queue.name
    )
    with TestClient(create_app(settings)) as client:
        response = client.get("/ready")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unreachable", "queue": "ok"}


def test_not_ready_within_seconds_when_the_database_accepts_and_never_answers(sqs_endpoint, queue):
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(100)  # the kernel completes the connections; nobody ever answers them, as a stopped server
        url = f"postgresql://postgres@127.0.0.1:{silent.getsockname()[1]}/taskflow"
        settings = ApiSettings(database_url=url, aws_endpoint_url=sqs_endpoint, queue_name=queue.name)
        with TestClient(create_app(settings)) as client:
            started = time.monotonic()
            response = client.get("/ready")
            took = time.monotonic() - started
    assert response.status_code == 503 and response.json()["checks"]["database"] == "unreachable"
    assert took < 5, f"the probe hung {took:.1f}s"


def test_a_nul_character_is_a_422_problem_not_a_server_error(client):
    in_filter = client.get("/tasks", params={"label": "a\x00b"})
    assert in_filter.status_code == 422
    in_payload = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "a\x00b"}})
    assert in_payload.status_code == 422
    assert in_payload.headers["content-type"] == "application/problem+json"
    assert "NUL" in in_payload.json()["detail"]
