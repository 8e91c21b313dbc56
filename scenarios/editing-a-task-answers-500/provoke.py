"""The partner's edit: a task that has not started, and a PATCH body with null for the fields its form left
untouched. Fixed, the API answers 422 (or applies a documented meaning); with the fault the database refuses the
null and the API answers 500: PATCH's 5xx count climbs on the API's /metrics."""

from scenarios.provoking import SymptomNotSeen

EDIT = {"payload": {"text": "Quarterly report, second draft"}, "priority": None, "labels": ["finance"]}


def provoke(stack) -> str:
    tenant, key = stack.new_tenant("partner")
    before = stack.server_errors("PATCH", "/tasks/{task_id}")
    # A queued task no consumer will start (no message dispatches it): it stays editable.
    task_id = stack.save_queued_tasks(tenant, 1, "Quarterly report, first draft")[0].id
    answer = stack.api.patch(f"/tasks/{task_id}", json=EDIT, headers={"X-API-Key": key, "If-Match": '"1"'})
    if answer.status_code < 500:
        raise SymptomNotSeen(f"the partner's edit was answered {answer.status_code}: {answer.text[:300]}")
    after = stack.wait_for(
        "PATCH's 5xx count moving", lambda: (n := stack.server_errors("PATCH", "/tasks/{task_id}")) > before and n
    )
    return (
        f"the partner's edit was answered {answer.status_code}; taskflow_http_requests_total of PATCH"
        f" /tasks/{{task_id}} with a 5xx status on the API's /metrics went from {before:g} to {after:g}"
    )
