"""Every error reaches the client as an RFC 9457 problem, never a stack trace. No database is touched."""

import asyncio
import uuid

import pytest
from fastapi.testclient import TestClient

from api.auth import current_tenant
from api.body_limit import BodySizeLimitMiddleware
from api.main import create_app
from api.settings import ApiSettings

PROBLEM = "application/problem+json"


@pytest.fixture(scope="module")
def client():
    app = create_app(
        ApiSettings(database_url="postgresql://nobody@127.0.0.1:1/none", aws_endpoint_url="http://127.0.0.1:1")
    )

    def explode():
        raise RuntimeError("secret internals: SELECT * FROM tasks")

    app.add_api_route("/explode", explode)
    # No database here: a fixed tenant stands in for the key lookup.
    app.dependency_overrides[current_tenant] = lambda: uuid.UUID(int=1)
    # The test client raises whatever error the app hands back to the server, as uvicorn would print it.
    with TestClient(app, raise_server_exceptions=True) as client:
        yield client


def assert_problem(response, status: int, type_: str) -> dict:
    assert response.status_code == status
    assert response.headers["content-type"] == PROBLEM
    body = response.json()
    assert body["status"] == status and body["type"] == type_ and body["title"]
    return body


def test_an_unknown_route_is_a_404_problem(client):
    assert_problem(client.get("/nope"), 404, "about:blank")


def test_a_wrong_method_is_a_405_problem_naming_every_allowed_method(client):
    assert_problem(client.delete("/health"), 405, "about:blank")
    assert client.put("/tasks").headers["allow"] == "GET, POST"


def test_a_body_that_is_not_json_is_a_422_problem(client):
    body = assert_problem(
        client.post("/tasks", content=b"{nope", headers={"content-type": "application/json"}),
        422,
        "urn:taskflow:problem:invalid-request",
    )
    assert body["errors"]


def test_a_missing_field_is_named(client):
    body = assert_problem(client.post("/tasks", json={"payload": {}}), 422, "urn:taskflow:problem:invalid-request")
    assert body["errors"] == [{"field": "body.type", "message": "Field required"}]


def test_an_unknown_task_type_lists_the_known_ones(client):
    body = assert_problem(
        client.post("/tasks", json={"type": "nope", "payload": {}}), 422, "urn:taskflow:problem:unknown-task-type"
    )
    assert {"word_stats", "invoice_fields"} <= set(body["known_types"])


def test_an_invalid_payload_names_the_field(client):
    body = assert_problem(
        client.post("/tasks", json={"type": "word_stats", "payload": {"top": 3}}),
        422,
        "urn:taskflow:problem:invalid-request",
    )
    assert body["errors"] == [{"field": "text", "message": "Field required"}]


def test_a_bad_task_id_is_a_422_problem(client):
    assert_problem(client.get("/tasks/not-a-uuid"), 422, "urn:taskflow:problem:invalid-request")


def test_a_crash_is_a_500_problem_without_internals_but_with_the_request_id(client):
    response = client.get("/explode", headers={"X-Request-ID": "trace-me"})
    body = assert_problem(response, 500, "urn:taskflow:problem:internal-error")
    assert "SELECT" not in response.text and "Traceback" not in response.text
    assert body["correlation_id"] == "trace-me"
    assert response.headers["x-request-id"] == "trace-me"
    # And the error went no further: the server (here, the test client) was handed nothing to print.


def test_every_response_carries_a_request_id(client):
    assert client.get("/health").headers["x-request-id"]
    assert client.get("/health", headers={"X-Request-ID": "abc-1"}).headers["x-request-id"] == "abc-1"
    assert (
        client.get("/health", headers={"X-Request-ID": "bad id with spaces"}).headers["x-request-id"]
        != "bad id with spaces"
    )


def test_an_unreachable_database_is_a_503_problem_with_retry_after(client):
    response = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "hello"}})
    assert_problem(response, 503, "urn:taskflow:problem:database-unavailable")
    assert response.headers["retry-after"] == "1"
    assert "postgres" not in response.text.lower()


def test_the_openapi_document_and_its_docs_page_are_served(client):
    document = client.get("/openapi.json").json()
    assert {"createTask", "getTask", "listTasks", "getTaskEvents", "health", "ready"} <= {
        operation["operationId"] for path in document["paths"].values() for operation in path.values()
    }
    assert "swagger-ui" in client.get("/docs").text


def test_a_body_over_the_limit_is_a_413_problem_whether_declared_or_streamed():
    app = create_app(ApiSettings(database_url="postgresql://nobody@127.0.0.1:1/none", max_request_body_bytes=1000))
    app.dependency_overrides[current_tenant] = lambda: uuid.UUID(int=1)
    with TestClient(app) as client:
        big = {"type": "word_stats", "payload": {"text": "x" * 2000}}
        declared = client.post("/tasks", json=big, headers={"X-Request-ID": "big-1"})
        assert_problem(declared, 413, "urn:taskflow:problem:body-too-large")
        assert declared.headers["x-request-id"] == declared.json()["correlation_id"] == "big-1"

        def chunks():
            for _ in range(5):
                yield b"x" * 400

        streamed = client.post("/tasks", content=chunks(), headers={"content-type": "application/json"})
        assert_problem(streamed, 413, "urn:taskflow:problem:body-too-large")


def test_a_body_too_large_for_a_response_already_under_way_lets_it_finish():
    async def answers_then_reads(scope, receive, send):  # as FileResponse does: it listens for a disconnect
        await send({"type": "http.response.start", "status": 200, "headers": []})
        while (await receive())["type"] != "http.disconnect":
            pass
        await send({"type": "http.response.body", "body": b"the page"})

    chunks = [{"type": "http.request", "body": b"x" * 600, "more_body": True} for _ in range(3)]
    sent = []

    async def receive():
        return chunks.pop(0)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "headers": [(b"transfer-encoding", b"chunked")]}
    asyncio.run(BodySizeLimitMiddleware(answers_then_reads, max_bytes=1000)(scope, receive, send))
    assert [m["type"] for m in sent] == ["http.response.start", "http.response.body"]
    assert (sent[0]["status"], sent[1]["body"]) == (200, b"the page")


def test_a_missing_key_is_a_401_problem_before_anything_else_is_looked_at():
    app = create_app(ApiSettings(database_url="postgresql://nobody@127.0.0.1:1/none"))
    with TestClient(app) as anonymous:
        response = anonymous.post("/tasks", json={"type": "nope"})
    assert_problem(response, 401, "urn:taskflow:problem:not-authenticated")
    assert response.headers["www-authenticate"] == 'ApiKey header="X-API-Key"'


def test_every_schema_in_the_openapi_document_has_an_example(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    documented = {
        "TaskCreate",
        "TaskUpdate",
        "TaskPublic",
        "TaskEventPublic",
        "TaskPage",
        "TaskTypePublic",
        "Health",
        "Readiness",
        "Problem",
    }
    assert documented <= set(schemas)
    assert [name for name in documented if not schemas[name].get("examples")] == []


def test_a_body_not_declared_json_is_a_415_problem(client):
    body = b'{"type": "word_stats", "payload": {"text": "hi"}}'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"content-type": content_type} if content_type else {}
        response = client.post("/tasks", content=body, headers=headers)
        assert_problem(response, 415, "about:blank")
    assert client.post(f"/tasks/{uuid.uuid4()}/cancel").status_code != 415, "no body, no content type needed"
