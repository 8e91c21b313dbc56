"""Idempotency-Key on POST /tasks: one key, one task, however often and however concurrently it is sent."""

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import func, select

from taskflow.db.engine import make_engine
from taskflow.db.models import OutboxMessage, Task
from taskflow.services.creation import new_task, save_task

BODY = {"type": "word_stats", "payload": {"text": "charge the card once"}}


def test_the_same_key_and_body_replay_the_first_task(client, read):
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    first = client.post("/tasks", json=BODY, headers=key)
    again = client.post("/tasks", json=BODY, headers=key)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["idempotent-replayed"] == "true"
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["location"] == first.headers["location"]
    assert len(read.outbox(uuid.UUID(first.json()["id"]))) == 1


def test_the_same_key_with_another_body_is_a_422_problem(client):
    key = {"Idempotency-Key": f"order-{uuid.uuid4()}"}
    client.post("/tasks", json=BODY, headers=key)
    response = client.post("/tasks", json={**BODY, "payload": {"text": "something else"}}, headers=key)
    assert response.status_code == 422
    assert response.json()["type"] == "urn:taskflow:problem:idempotency-key-reused"


def test_keys_are_scoped_per_tenant(client, app_for_other_tenant):
    key = {"Idempotency-Key": f"shared-{uuid.uuid4()}"}
    mine = client.post("/tasks", json=BODY, headers=key)
    theirs = app_for_other_tenant.post("/tasks", json=BODY, headers=key)
    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert mine.json()["id"] != theirs.json()["id"]


def test_concurrent_requests_with_one_key_create_one_task(database_url, tenant, sessions):
    key = f"race-{uuid.uuid4()}"
    engine = make_engine(database_url, pool_size=20).execution_options(isolation_level="AUTOCOMMIT")
    everyone_ready = threading.Barrier(20)

    def create(i: int):
        new = new_task(
            tenant_id=tenant.id,
            task_type="word_stats",
            payload=BODY["payload"],
            correlation_id=f"{key}-{i}",
            idempotency_key=key,
        )
        with engine.connect() as connection:
            everyone_ready.wait()
            return save_task(connection, new)

    try:
        with ThreadPoolExecutor(20) as pool:
            outcomes = list(pool.map(create, range(20)))
    finally:
        engine.dispose()
    assert sum(outcome.created for outcome in outcomes) == 1
    assert len({outcome.task.id for outcome in outcomes}) == 1
    task_id = outcomes[0].task.id
    with sessions() as session:
        written = session.scalar(
            select(func.count()).select_from(Task).where(Task.correlation_id.in_([f"{key}-{i}" for i in range(20)]))
        )
        messages = session.scalar(select(func.count()).where(OutboxMessage.task_id == task_id))
    assert (written, messages) == (1, 1)


def test_a_key_is_not_needed(client):
    assert client.post("/tasks", json=BODY).status_code == 201
    assert client.post("/tasks", json=BODY).json()["id"] != client.post("/tasks", json=BODY).json()["id"]
