"""Completion webhooks against a real PostgreSQL and a real receiver on loopback: what a hostile tenant, a crashed
relay and a cancel do to them."""

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from fastapi.testclient import TestClient
from standardwebhooks.webhooks import Webhook

from api.main import create_app
from api.settings import ApiSettings
from relay.webhooks import WebhookSender
from taskflow.services.webhooks import claim_due_deliveries
from tests.integration.test_api_lifecycle import problem_type
from tests.waiting import wait_until
from tests.webhook_receiver import webhook_receiver


@pytest.fixture
def dev_client(database_url, sqs_endpoint, queue, tenant):
    """The API as make dev runs it: callbacks over http to loopback are allowed."""
    settings = ApiSettings(database_url=database_url, aws_endpoint_url=sqs_endpoint, queue_name=queue.name,
                           webhooks_allow_http_loopback=True)  # fmt: skip
    with TestClient(create_app(settings), headers={"X-API-Key": tenant.key}) as client:
        yield client


def sender(sessions, allow_loopback: bool = True, max_attempts: int = 3) -> WebhookSender:
    return WebhookSender(sessions, threading.Event(), allow_loopback=allow_loopback,
                         timeout_seconds=2, max_attempts=max_attempts, first_retry=timedelta(0))  # fmt: skip


def cancelled_with_callback(client, url: str) -> dict:
    """A task that finishes at once: created with a callback, then cancelled (the API writes its delivery)."""
    task = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "x"}, "callback_url": url,
                                       "delay_seconds": 3600}).json()  # fmt: skip
    assert client.post(f"/tasks/{task['id']}/cancel").status_code == 200
    return task


def test_a_cancelled_task_calls_back_too(dev_client, sessions):
    secret = dev_client.put("/webhooks", json={"allowed_hosts": ["127.0.0.1"]}).json()["secret"]
    with webhook_receiver(200) as receiver:
        task = cancelled_with_callback(dev_client, receiver.url)
        wait_until(lambda: sender(sessions).send_due() and receiver.received, 10, "the webhook")
    [received] = receiver.received
    assert Webhook(secret).verify(received.body, received.headers)["data"]["status"] == "cancelled"
    assert dev_client.get(f"/tasks/{task['id']}/webhooks").json()[0]["status"] == "delivered"


def test_an_allowed_host_that_is_a_private_address_is_never_connected_to(dev_client, sessions):
    dev_client.put("/webhooks", json={"allowed_hosts": ["10.20.30.40", "localhost"]})
    inside = cancelled_with_callback(dev_client, "https://10.20.30.40/steal")
    loopback = cancelled_with_callback(dev_client, "https://localhost:9/steal")
    strict = sender(sessions, allow_loopback=False, max_attempts=1)  # a deployment: no loopback either
    wait_until(lambda: not strict.send_due() and all_failed(dev_client, inside, loopback), 10, "both refused")
    errors = [dev_client.get(f"/tasks/{t['id']}/webhooks").json()[0]["last_error"] for t in (inside, loopback)]
    assert errors[0] == "10.20.30.40 resolves to 10.20.30.40, which webhooks may not reach"
    assert errors[1].startswith("localhost resolves to ") and errors[1].endswith("which webhooks may not reach")


def all_failed(client, *tasks) -> bool:
    return all(client.get(f"/tasks/{t['id']}/webhooks").json()[0]["status"] == "failed" for t in tasks)


def test_a_relay_that_dies_mid_attempt_leaves_the_delivery_to_the_next_with_the_same_id(dev_client, sessions):
    dev_client.put("/webhooks", json={"allowed_hosts": ["127.0.0.1"]})
    with webhook_receiver(200) as receiver:
        task = cancelled_with_callback(dev_client, receiver.url)
        with sessions() as session:
            [dying] = claim_due_deliveries(session, lease=timedelta(seconds=1))  # then the relay dies
        with sessions() as session:
            assert claim_due_deliveries(session, lease=timedelta(seconds=1)) == [], "held while the lease lasts"
        wait_until(lambda: sender(sessions).send_due() and receiver.received, 10, "the next relay's attempt")
    assert receiver.received[0].headers["webhook-id"] == dying.id
    assert dev_client.get(f"/tasks/{task['id']}/webhooks").json()[0]["attempts"] == 1


def test_webhook_settings_and_deliveries_are_the_tenants_own(dev_client, app_for_other_tenant):
    assert problem_type(app_for_other_tenant.get("/webhooks")) == "webhooks-not-configured"
    # 203.0.113.7 (a documentation address): a relay of another test refuses it without a DNS query or a connection.
    hosts = ["Hooks.Example.com", "hooks.example.com", "203.0.113.7"]
    mine = dev_client.put("/webhooks", json={"allowed_hosts": hosts}).json()
    assert mine["allowed_hosts"] == ["203.0.113.7", "hooks.example.com"]
    theirs = app_for_other_tenant.put("/webhooks", json={"allowed_hosts": []}).json()
    assert theirs["secret"] != mine["secret"]
    task = cancelled_with_callback(dev_client, "https://203.0.113.7/x")
    assert app_for_other_tenant.get(f"/tasks/{task['id']}/webhooks").status_code == 404
    rotated = dev_client.post("/webhooks/rotate-secret").json()
    assert rotated["secret"] != mine["secret"] and dev_client.get("/webhooks").json() == rotated
    for bad in ({"allowed_hosts": ["https://x.example.com/"]}, {"allowed_hosts": ["x"] * 21}, {"hosts": []}):
        response = dev_client.put("/webhooks", json=bad)
        assert (response.status_code, response.headers["content-type"]) == (422, "application/problem+json")


def test_a_callback_without_webhook_settings_is_refused(app_for_other_tenant):
    body = {"type": "word_stats", "payload": {"text": "x"}, "callback_url": "https://hooks.example.com/x"}
    response = app_for_other_tenant.post("/tasks", json=body)
    assert (response.status_code, problem_type(response)) == (422, "invalid-request")
    assert "PUT /webhooks" in response.json()["detail"]


@contextmanager
def trickling_receiver() -> Iterator[str]:
    """A receiver that sends its status line one byte a second, for ever (until closed)."""
    server = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                connection, _ = server.accept()
            except TimeoutError:
                continue
            with connection:
                for byte in b"HTTP/1.1 200 OK\r\n":
                    if stop.wait(1):
                        return
                    try:
                        connection.sendall(bytes([byte]))
                    except OSError:
                        break

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.getsockname()[1]}/slow"
    finally:
        stop.set()
        thread.join(5)
        server.close()


def test_a_trickling_receiver_gets_one_deadline_and_holds_up_no_one(dev_client, sessions):
    dev_client.put("/webhooks", json={"allowed_hosts": ["127.0.0.1"]})
    with trickling_receiver() as slow_url, webhook_receiver(200) as fine:
        slow = cancelled_with_callback(dev_client, slow_url)
        prompt = cancelled_with_callback(dev_client, fine.url)
        started = time.monotonic()
        sender(sessions).send_due()  # both in one claim (of up to 10): side by side
        took = time.monotonic() - started
    assert took < 5, "the deadline (2 s here) ends the trickle"
    deliveries = {t["id"]: dev_client.get(f"/tasks/{t['id']}/webhooks").json()[0] for t in (slow, prompt)}
    assert deliveries[prompt["id"]]["status"] == "delivered"
    assert deliveries[slow["id"]]["last_error"] == "no answer within 2 s"


def test_a_receivers_body_is_never_read(dev_client, sessions):
    dev_client.put("/webhooks", json={"allowed_hosts": ["127.0.0.1"]})
    with endless_body_receiver() as url:
        task = cancelled_with_callback(dev_client, url)
        started = time.monotonic()
        sender(sessions).send_due()
    assert time.monotonic() - started < 5
    assert dev_client.get(f"/tasks/{task['id']}/webhooks").json()[0]["status"] == "delivered"


@contextmanager
def endless_body_receiver() -> Iterator[str]:
    """A receiver that answers 200 with a body that never ends (1 MB chunks)."""

    class Endless(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 - the name http.server calls
            self.send_response(200)
            self.send_header("transfer-encoding", "chunked")
            self.end_headers()
            chunk = b"%x\r\n%s\r\n" % (1 << 20, b"x" * (1 << 20))
            try:
                for _ in range(10_000):  # 10 GB, were it read
                    self.wfile.write(chunk)
            except OSError:
                pass

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/big"
    finally:
        server.shutdown()
        server.server_close()
