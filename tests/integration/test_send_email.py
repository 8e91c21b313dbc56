"""The send_email task type against make dev's SMTP sink (a real SMTP server on loopback), and the dashboard's
count of emails per task: what shows a task whose effect happened twice."""

import smtplib
import socket
import threading
import uuid
from http.server import ThreadingHTTPServer

import httpx
import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ApiSettings
from devstack.mail_sink import Deliveries, SmtpHandler, http_handler
from taskflow.settings import get_settings
from taskflow.task_types import TaskContext, get_task_type


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def sink(monkeypatch):
    """The sink on free loopback ports, and the settings that point send_email at it."""
    deliveries = Deliveries()
    smtp = Controller(SmtpHandler(deliveries), hostname="127.0.0.1", port=free_port())
    smtp.start()
    web = ThreadingHTTPServer(("127.0.0.1", 0), http_handler(deliveries))
    threading.Thread(target=web.serve_forever, daemon=True).start()
    monkeypatch.setenv("SMTP_PORT", str(smtp.port))
    get_settings.cache_clear()
    yield deliveries, f"http://127.0.0.1:{web.server_address[1]}"
    web.shutdown()
    smtp.stop()
    get_settings.cache_clear()


def send(to: str, task_id: uuid.UUID | None = None) -> dict:
    context = TaskContext(task_id or uuid.uuid4(), 1, lambda: 5.0)
    return get_task_type("send_email").run({"to": to, "subject": "Your export is ready", "body": "Hi"}, context)


def test_each_run_delivers_one_email_keyed_on_the_task(sink):
    deliveries, url = sink
    task_id = uuid.uuid4()
    result = send("ada@example.com", task_id)
    assert result == {"sent_to": "ada@example.com", "message_id": f"<{task_id}@taskflow>"}
    send("ada@example.com", task_id)  # a second run of the same task: the sink sees the repeat
    assert deliveries.snapshot() == {str(task_id): 2}
    assert httpx.get(f"{url}/deliveries").json() == {str(task_id): 2}
    metrics = httpx.get(f"{url}/metrics").text
    assert (
        "taskflow_mail_sink_emails_total 2.0" in metrics and "taskflow_mail_sink_repeated_emails_total 1.0" in metrics
    )


def test_a_provider_that_is_down_is_retried_later(sink):
    with pytest.raises(smtplib.SMTPDataError) as refused:
        send("grace@down.example")
    assert refused.value.smtp_code == 451 and get_task_type("send_email").is_transient(refused.value)
    assert sink[0].snapshot() == {}


def test_no_smtp_server_is_retried_later(monkeypatch):
    monkeypatch.setenv("SMTP_PORT", str(free_port()))
    get_settings.cache_clear()
    try:
        with pytest.raises(ConnectionRefusedError) as refused:
            send("ada@example.com")
        assert get_task_type("send_email").is_transient(refused.value)
    finally:
        get_settings.cache_clear()


class Rejecting:
    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: N802
        return "550 5.1.1 No such user"


def test_a_refusal_for_good_fails_the_task_at_once(monkeypatch):
    smtp = Controller(Rejecting(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    monkeypatch.setenv("SMTP_PORT", str(smtp.port))
    get_settings.cache_clear()
    try:
        with pytest.raises(ValueError, match="refused the email for good: 550") as refused:
            send("nobody@example.com")
        assert not get_task_type("send_email").is_transient(refused.value)
    finally:
        smtp.stop()
        get_settings.cache_clear()


@pytest.mark.parametrize("to", ["not-an-address", "a@b", "a b@example.com", "x" * 250 + "@example.com"])
def test_a_bad_address_is_refused_before_anything_is_sent(to):
    with pytest.raises(Exception, match="invalid payload"):
        send(to)


def test_the_dashboard_counts_emails_of_the_tenants_own_tasks_only(sink, client, app_for_other_tenant, database_url):
    deliveries, url = sink
    mine = client.post("/tasks", json={"type": "send_email", "payload": {"to": "a@example.com", "subject": "s"}})
    theirs = app_for_other_tenant.post(
        "/tasks", json={"type": "send_email", "payload": {"to": "b@example.com", "subject": "s"}}
    )
    for task in (mine.json(), mine.json(), theirs.json()):
        deliveries.record(task["id"])
    deliveries.record("not-a-task-id")
    settings = ApiSettings(database_url=database_url, mail_sink_url=url)
    with TestClient(create_app(settings), headers=dict(client.headers)) as with_sink:
        assert with_sink.get("/dashboard-emails").json() == {mine.json()["id"]: 2}
    assert client.get("/dashboard-emails").json() == {}, "no sink configured"
    down = ApiSettings(database_url=database_url, mail_sink_url=f"http://127.0.0.1:{free_port()}")
    with TestClient(create_app(down), headers=dict(client.headers)) as sink_down:
        assert sink_down.get("/dashboard-emails").json() == {}
    assert client.get("/dashboard-emails", headers={"X-API-Key": "tf_wrong"}).status_code == 401
