"""Hidden check: PATCH /tasks/{id} with null for a field is never a 500.

Null is either refused with a 422 problem that names the field (the task left as it was), or, where the
OpenAPI document says the field takes null, it means what JSON Merge Patch says it means: the value goes back
to its default (priority 0, no labels). A 200 that changes nothing is a silent no-op, and refused too.
Edits with values still work, and a wrong type is still a 422.
"""

import socket
import uuid

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ApiSettings
from taskflow.services.api_keys import create_api_key

PROBLEM = "application/problem+json"
# What null may mean for a field that takes it: the default a task is created with. A payload has none.
DEFAULTS = {"priority": 0, "labels": []}
START = {"type": "word_stats", "payload": {"text": "keep me"}, "priority": 3, "labels": ["billing"]}
EDITABLE = ("payload", "priority", "labels")


def unreachable_endpoint() -> str:
    """No SQS is needed to edit a task: a port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


@pytest.fixture
def client(database_url, sessions):
    with sessions() as session:
        _, key = create_api_key(session=session, tenant_name=f"edit-{uuid.uuid4().hex[:8]}", key_name="check")
    settings = ApiSettings(database_url=database_url, aws_endpoint_url=unreachable_endpoint(), queue_name="tasks")
    with TestClient(create_app(settings), headers={"X-API-Key": key}, raise_server_exceptions=False) as client:
        yield client


def created(client) -> dict:
    response = client.post("/tasks", json=START)
    assert response.status_code == 201, response.text
    return response.json()


def edit(client, task: dict, body: dict):
    return client.patch(f"/tasks/{task['id']}", json=body, headers={"If-Match": "*"})


def current(client, task: dict) -> dict:
    response = client.get(f"/tasks/{task['id']}")
    assert response.status_code == 200, response.text
    return response.json()


def takes_null(client, field: str) -> bool:
    """Whether the API's own document says the field may be sent as null."""
    schema = client.app.openapi()["components"]["schemas"]["TaskUpdate"]["properties"][field]
    return schema.get("type") == "null" or any(s.get("type") == "null" for s in schema.get("anyOf", []))


def names_the_field(problem: dict, field: str) -> bool:
    return any(str(error.get("field", "")).split(".")[-1] == field for error in problem.get("errors") or [])


def assert_refused_and_untouched(client, response, before: dict, field: str) -> None:
    assert response.headers["content-type"] == PROBLEM, f"{field}: null got a 422 that is not a problem"
    problem = response.json()
    assert problem["status"] == 422 and problem["type"].startswith("urn:taskflow:problem:"), problem
    assert names_the_field(problem, field), f"{field}: the 422 does not say which field is wrong: {problem}"
    kept = ("version", "payload", "priority", "labels")
    after = current(client, before)
    assert {k: after[k] for k in kept} == {k: before[k] for k in kept}, f"{field}: a refused edit changed the task"


@pytest.mark.parametrize("field", EDITABLE)
def test_null_for_a_field_is_refused_with_a_problem_or_means_its_default(client, field):
    task = created(client)
    response = edit(client, task, {field: None})
    assert response.status_code < 500, f"PATCH {{{field!r}: null}} answered {response.status_code}: {response.text}"
    if response.status_code == 422:
        assert_refused_and_untouched(client, response, task, field)
        return
    assert response.status_code == 200, f"{field}: null answered {response.status_code}, not 422 or 200"
    assert field in DEFAULTS, f"{field}: null was accepted, but a task cannot be without one: {response.text}"
    assert takes_null(client, field), f"{field}: null was accepted, but the OpenAPI document does not allow it"
    after = current(client, task)
    assert after[field] == DEFAULTS[field], f"{field}: null was accepted and did nothing (now {after[field]!r})"
    others = [name for name in EDITABLE if name != field]
    assert [after[name] for name in others] == [task[name] for name in others], "null for one field changed another"


def test_null_beside_a_value_changes_all_or_nothing(client):
    task = created(client)
    response = edit(client, task, {"priority": 7, "labels": None})
    assert response.status_code < 500, response.text
    if response.status_code == 422:
        assert_refused_and_untouched(client, response, task, "labels")
    else:
        assert response.status_code == 200, response.text
        after = current(client, task)
        assert (after["priority"], after["labels"]) == (7, DEFAULTS["labels"]), after


def test_edits_with_values_still_work(client):
    task = created(client)
    for body in ({"priority": 5}, {"labels": ["urgent", "eu-west"]}, {"payload": {"text": "new text"}}):
        response = edit(client, task, body)
        assert response.status_code == 200, f"PATCH {body}: {response.status_code} {response.text}"
    after = current(client, task)
    assert (after["priority"], after["labels"], after["payload"]["text"]) == (5, ["urgent", "eu-west"], "new text")
    assert edit(client, task, {"priority": 6}).status_code == 200  # nothing sent for labels or payload: they stay
    assert current(client, task)["labels"] == ["urgent", "eu-west"]
    for wrong in ({"priority": "high"}, {"priority": 10}, {"labels": "urgent"}, {"payload": []}):
        response = edit(client, task, wrong)
        assert response.status_code == 422, f"PATCH {wrong}: {response.status_code} {response.text}"
