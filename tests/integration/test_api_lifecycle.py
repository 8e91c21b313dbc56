"""Editing, cancelling, retrying and deleting tasks over HTTP, against a real PostgreSQL."""

import uuid

from tests.integration.lambda_events import body_of, event_for, failures

BAD_INVOICE = {"fields": {"Invoice": "A", "Date": "2024-01-02", "Net": "10", "Tax": "1", "Total": "12"}}


def create(client, task_type="word_stats", payload=None, **fields) -> dict:
    response = client.post("/tasks", json={"type": task_type, "payload": payload or {"text": "a b"}, **fields})
    assert response.status_code == 201, response.text
    assert response.headers["etag"] == f'"{response.json()["version"]}"'
    return response.json()


def problem_type(response) -> str:
    assert response.headers["content-type"] == "application/problem+json"
    return response.json()["type"].rsplit(":", 1)[-1]


def test_every_task_response_carries_its_version_as_etag(client):
    task = create(client, priority=3, labels=["billing", "eu-west"])
    fetched = client.get(f"/tasks/{task['id']}")
    assert fetched.headers["etag"] == '"1"'
    assert (fetched.json()["priority"], fetched.json()["labels"]) == (3, ["billing", "eu-west"])


def test_an_edit_needs_the_current_etag(client):
    task = create(client)
    url = f"/tasks/{task['id']}"
    missing = client.patch(url, json={"priority": 5})
    assert (missing.status_code, problem_type(missing)) == (428, "precondition-required")
    edited = client.patch(url, json={"priority": 5, "payload": {"text": "new text"}}, headers={"If-Match": '"1"'})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["priority"], edited.json()["payload"]["text"], edited.headers["etag"]) == (
        5,
        "new text",
        '"2"',
    )
    stale = client.patch(url, json={"priority": 1}, headers={"If-Match": '"1"'})
    assert (stale.status_code, problem_type(stale)) == (412, "precondition-failed")
    assert client.get(url).json()["priority"] == 5


def test_an_edited_payload_is_validated_against_the_task_type(client):
    task = create(client)
    response = client.patch(f"/tasks/{task['id']}", json={"payload": {"text": ""}}, headers={"If-Match": '"1"'})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "text"


def test_a_started_task_cannot_be_edited(client, handler, read):
    task = create(client)
    handler.invoke(event_for(body_of(read.task(uuid.UUID(task["id"])))))
    current = client.get(f"/tasks/{task['id']}")
    response = client.patch(f"/tasks/{task['id']}", json={"priority": 2}, headers={"If-Match": current.headers["etag"]})
    assert (response.status_code, problem_type(response)) == (409, "task-already-started")


def test_a_cancelled_task_is_acknowledged_by_the_consumer_without_running(client, handler, read):
    task = create(client)
    message_body = body_of(read.task(uuid.UUID(task["id"])))
    cancelled = client.post(f"/tasks/{task['id']}/cancel")
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "cancelled")
    assert failures(handler.invoke(event_for(message_body))) == []
    stored = read.task(uuid.UUID(task["id"]))
    assert (stored.status, stored.attempts) == ("cancelled", 0)
    assert "running" not in [e.to_status for e in read.events(stored.id)]


def test_a_finished_task_cannot_be_cancelled_and_the_reason_says_why(client, handler, read):
    task = create(client)
    handler.invoke(event_for(body_of(read.task(uuid.UUID(task["id"])))))
    response = client.post(f"/tasks/{task['id']}/cancel")
    assert (response.status_code, problem_type(response)) == (409, "illegal-transition")
    assert "from succeeded to cancelled" in response.json()["detail"]


def test_a_failed_task_retried_runs_again_and_its_attempts_keep_counting(client, handler, read):
    task = create(client, "invoice_fields", BAD_INVOICE)
    task_id = uuid.UUID(task["id"])
    handler.invoke(event_for(body_of(read.task(task_id))))
    assert read.task(task_id).status == "failed"
    retried = client.post(f"/tasks/{task['id']}/retry")
    assert (retried.status_code, retried.json()["status"], retried.json()["error"]) == (200, "queued", None)
    assert len(read.outbox(task_id)) == 2, "a fresh message for the new attempt"
    handler.invoke(event_for(body_of(read.task(task_id))))
    stored = read.task(task_id)
    assert (stored.status, stored.attempts) == ("failed", 2)


def test_only_a_failed_task_can_be_retried(client, read):
    task = create(client)
    response = client.post(f"/tasks/{task['id']}/retry")
    assert (response.status_code, problem_type(response)) == (409, "task-not-retryable")
    assert "only a failed task can be retried" in response.json()["detail"]
    assert len(read.outbox(uuid.UUID(task["id"]))) == 1, "no second message for a task that never failed"


def test_only_a_finished_or_cancelled_task_can_be_deleted(client, read):
    task = create(client)
    refused = client.delete(f"/tasks/{task['id']}")
    assert (refused.status_code, problem_type(refused)) == (409, "task-still-active")
    client.post(f"/tasks/{task['id']}/cancel")
    assert client.delete(f"/tasks/{task['id']}").status_code == 204
    assert client.get(f"/tasks/{task['id']}").status_code == 404
    assert client.get(f"/tasks/{task['id']}/events").status_code == 404
    assert read.outbox(uuid.UUID(task["id"])) == []


def test_lifecycle_calls_on_an_unknown_task_are_404_problems(client):
    missing = uuid.uuid4()
    for response in (
        client.post(f"/tasks/{missing}/cancel"),
        client.post(f"/tasks/{missing}/retry"),
        client.delete(f"/tasks/{missing}"),
        client.patch(f"/tasks/{missing}", json={}, headers={"If-Match": "*"}),
    ):
        assert (response.status_code, problem_type(response)) == (404, "task-not-found")


def test_task_types_lists_each_type_with_its_payload_schema(client):
    types = {t["name"]: t for t in client.get("/task-types").json()}
    assert types["word_stats"]["payload_schema"]["required"] == ["text"]
    assert "fields" in types["invoice_fields"]["payload_schema"]["properties"]
    assert types["word_stats"]["description"]
