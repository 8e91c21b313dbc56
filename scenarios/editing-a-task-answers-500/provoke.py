"""The partner's edit: a task that has not started, and a PATCH body with null for the fields its form left
untouched. Fixed, the API answers 422 (or applies a documented meaning); with the fault the database refuses the
null and the API answers 500: PATCH's 5xx count climbs on the API's /metrics."""

import uuid

from scenarios.provoking import SymptomNotSeen
from taskflow.clock import utc_now
from taskflow.db.engine import make_engine, make_session_factory
from taskflow.db.models import Task

EDIT = {"payload": {"text": "Quarterly report, second draft"}, "priority": None, "labels": ["finance"]}


def waiting_task(stack, tenant_id: uuid.UUID) -> uuid.UUID:
    """A queued task that no consumer will start (no message dispatches it): it stays editable."""
    now = utc_now()
    task = Task(
        id=uuid.uuid4(), tenant_id=tenant_id, type="word_stats", payload={"text": "Quarterly report, first draft"},
        status="queued", attempts=0, version=1, dispatched_version=1, correlation_id="provoke", created_at=now,
        updated_at=now,
    )  # fmt: skip
    engine = make_engine(stack.env["DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            session.add(task)
            session.commit()
    finally:
        engine.dispose()
    return task.id


def server_errors(stack) -> float:
    samples = stack.samples("api", "taskflow_http_requests_total")
    return sum(v for labels, v in samples if labels["route"] == "/tasks/{task_id}" and labels["method"] == "PATCH"
               and labels["status"].startswith("5"))  # fmt: skip


def provoke(stack) -> str:
    tenant, key = stack.new_tenant("partner")
    before = server_errors(stack)
    task_id = waiting_task(stack, tenant)
    answer = stack.api.patch(f"/tasks/{task_id}", json=EDIT, headers={"X-API-Key": key, "If-Match": '"1"'})
    if answer.status_code < 500:
        raise SymptomNotSeen(f"the partner's edit was answered {answer.status_code}: {answer.text[:300]}")
    after = stack.wait_for("PATCH's 5xx count moving", lambda: (n := server_errors(stack)) > before and n)
    return (
        f"the partner's edit was answered {answer.status_code}; taskflow_http_requests_total of PATCH"
        f" /tasks/{{task_id}} with a 5xx status on the API's /metrics went from {before:g} to {after:g}"
    )
