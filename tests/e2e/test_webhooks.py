"""Completion webhooks through the real processes, to a real HTTP receiver on loopback (as make dev permits): the
signature verifies with a Standard Webhooks library, and a redelivery carries the same webhook-id."""

import json

import httpx
import pytest
from standardwebhooks.webhooks import Webhook

from tests.e2e.conftest import running_stack
from tests.e2e.test_task_flow import finished
from tests.waiting import wait_until
from tests.webhook_receiver import webhook_receiver

# As make dev runs it (callbacks to this machine over http), with quick retries.
SETTINGS = {"WEBHOOKS_ALLOW_HTTP_LOOPBACK": "true", "WEBHOOK_FIRST_RETRY_SECONDS": "0.5", "WEBHOOK_MAX_ATTEMPTS": "3"}


@pytest.fixture(scope="module")
def stack(postgres_server_url, sqs_endpoint, tmp_path_factory):
    with running_stack(postgres_server_url, sqs_endpoint, tmp_path_factory.mktemp("stack") / "stack.log",
                       env=SETTINGS) as running:  # fmt: skip
        yield running


@pytest.fixture(scope="module")
def api(stack):
    with httpx.Client(base_url=stack.base_url, headers=stack.headers) as client:
        yield client


def test_a_finished_task_calls_back_signed_and_a_redelivery_keeps_its_id(stack, api):
    secret = api.put("/webhooks", json={"allowed_hosts": ["127.0.0.1"]}).raise_for_status().json()["secret"]
    with webhook_receiver(503, 200) as receiver:
        body = {"type": "word_stats", "payload": {"text": "call me back back"}, "callback_url": receiver.url}
        task = api.post("/tasks", json=body).raise_for_status().json()
        done = wait_until(lambda: finished(stack, task["id"]), 30, "the task finishing")
        wait_until(lambda: len(receiver.received) >= 2, 30, "the webhook, refused once, then delivered")
    first, second = receiver.received[:2]
    assert first.headers["webhook-id"] == second.headers["webhook-id"], "a redelivery is the same webhook"
    assert first.body == second.body
    for received in (first, second):
        verified = Webhook(secret).verify(received.body, received.headers)
        assert verified["data"] | {"finished_at": None} == {
            "id": task["id"], "type": "word_stats", "status": "succeeded", "attempts": 1,
            "result": done["result"], "error": None, "finished_at": None,
        }  # fmt: skip
    deliveries = wait_until(lambda: delivered(api, task["id"]), 10, "the delivery recorded")
    assert [(d["id"], d["attempts"]) for d in deliveries] == [(first.headers["webhook-id"], 2)]
    assert len(receiver.received) == 2


def test_a_receiver_that_never_answers_2xx_is_recorded_as_failed_after_its_attempts(stack, api):
    api.put("/webhooks", json={"allowed_hosts": ["127.0.0.1"]}).raise_for_status()
    with webhook_receiver(500) as receiver:
        body = {"type": "word_stats", "payload": {"text": "nobody home"}, "callback_url": receiver.url}
        task = api.post("/tasks", json=body).raise_for_status().json()
        [delivery] = wait_until(lambda: settled(api, task["id"], "failed"), 60, "the delivery failing for good")
    assert (delivery["attempts"], delivery["last_error"]) == (3, "the receiver answered 500")
    assert len(receiver.received) == 3 and len({r.headers["webhook-id"] for r in receiver.received}) == 1


def test_a_callback_the_tenant_does_not_allow_is_refused_and_nothing_is_created(stack, api):
    api.put("/webhooks", json={"allowed_hosts": ["hooks.example.com"]}).raise_for_status()
    before = api.get("/tasks", params={"limit": 200}).json()["items"]
    for url, reason in (("http://127.0.0.1:9/x", "not among"), ("http://hooks.example.com/x", "only https")):
        response = api.post("/tasks", json={"type": "word_stats", "payload": {"text": "x"}, "callback_url": url})
        assert response.status_code == 422 and reason in json.dumps(response.json()), response.text
    assert api.get("/tasks", params={"limit": 200}).json()["items"] == before


def delivered(api, task_id: str) -> list[dict] | None:
    return settled(api, task_id, "delivered")


def settled(api, task_id: str, status: str) -> list[dict] | None:
    deliveries = api.get(f"/tasks/{task_id}/webhooks").raise_for_status().json()
    return deliveries if deliveries and all(d["status"] == status for d in deliveries) else None
