"""Acceptance test for the practical task `create-rate-limit` (60 minutes, senior).

POST /tasks is limited per tenant to TASK_CREATE_RATE_PER_SECOND (a new setting, default 50). Beyond it the
API answers 429 as a problem document with a Retry-After header (whole seconds); other tenants are unaffected.
"""

import uuid

from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ApiSettings
from taskflow.services.api_keys import create_api_key

TASK = {"type": "word_stats", "payload": {"text": "hello"}}


def test_a_tenant_over_its_rate_gets_429_with_retry_after_and_others_do_not(
    database_url, sqs_endpoint, queue, tenant, sessions
):
    with sessions() as session:
        _, other_key = create_api_key(session=session, tenant_name=f"other-{uuid.uuid4().hex[:6]}", key_name="t")
    settings = ApiSettings(
        database_url=database_url, aws_endpoint_url=sqs_endpoint, queue_name=queue.name, task_create_rate_per_second=5
    )
    with TestClient(create_app(settings)) as client:
        responses = [client.post("/tasks", json=TASK, headers={"X-API-Key": tenant.key}) for _ in range(15)]
        other = client.post("/tasks", json=TASK, headers={"X-API-Key": other_key})

    assert [r.status_code for r in responses[:5]] == [201] * 5
    limited = [r for r in responses[5:] if r.status_code == 429]
    assert limited, [r.status_code for r in responses]
    assert limited[0].headers["content-type"] == "application/problem+json"
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert other.status_code == 201


def test_the_default_rate_is_fifty_per_second():
    assert ApiSettings().task_create_rate_per_second == 50
