"""Hidden check: while SQS is unreachable, creating a task still succeeds, and the task is kept for publishing."""

import socket

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from api.main import create_app
from api.settings import ApiSettings
from taskflow.db.models import OutboxMessage, Task
from taskflow.services.api_keys import create_api_key


def unreachable_endpoint() -> str:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}"


def test_a_task_created_during_an_sqs_outage_is_not_lost(database_url, sessions):
    with sessions() as session:
        _, key = create_api_key(session=session, tenant_name="outage-check", key_name="check")
    settings = ApiSettings(database_url=database_url, aws_endpoint_url=unreachable_endpoint(), queue_name="tasks")
    with TestClient(create_app(settings), headers={"X-API-Key": key}, raise_server_exceptions=False) as client:
        response = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "during the outage"}})
        assert response.status_code == 201, f"the client was told {response.status_code}: {response.text[:300]}"

    with sessions() as session:
        saved = session.scalars(select(Task.id).where(Task.correlation_id == response.headers["X-Request-ID"])).all()
        waiting = session.scalar(select(func.count()).where(OutboxMessage.task_id.in_(saved)))
    assert len(saved) == 1 and waiting == 1, "the task was saved without a message that will publish it"
