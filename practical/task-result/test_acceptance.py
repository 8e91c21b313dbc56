"""Acceptance test for the practical task `task-result`: GET /tasks/{id}/result (30 minutes, junior).

The result of a succeeded task, as its body; a task that has not succeeded is a 409 problem; a task of another
tenant is a 404 problem, as for every other task endpoint.
"""

import uuid

from taskflow.db.models import Task

PROBLEM = "application/problem+json"


def create(client) -> dict:
    response = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "two words"}})
    assert response.status_code == 201
    return response.json()


def test_the_result_of_a_succeeded_task_is_its_body(client, sessions):
    task = create(client)
    with sessions() as session:  # as the consumer would have left it
        stored = session.get(Task, uuid.UUID(task["id"]))
        stored.status, stored.result = "succeeded", {"words": 2}
        session.commit()
    response = client.get(f"/tasks/{task['id']}/result")
    assert response.status_code == 200
    assert response.json() == {"words": 2}


def test_a_task_that_has_not_succeeded_is_a_conflict(client):
    task = create(client)
    response = client.get(f"/tasks/{task['id']}/result")
    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["status"] == 409


def test_another_tenants_task_is_not_found(client, app_for_other_tenant):
    task = create(client)
    response = app_for_other_tenant.get(f"/tasks/{task['id']}/result")
    assert response.status_code == 404 and response.headers["content-type"] == PROBLEM
