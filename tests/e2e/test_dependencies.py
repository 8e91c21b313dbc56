"""Tasks that wait for others, through the real processes: a diamond runs in order, and a failure cancels what
waits for it while the rest of the graph goes on."""

from datetime import datetime

import httpx

from tests.e2e.test_task_flow import finished
from tests.waiting import wait_until


def create(stack, task_type: str, payload: dict, *after: dict) -> dict:
    body = {"type": task_type, "payload": payload, "after": [task["id"] for task in after]}
    response = httpx.post(f"{stack.base_url}/tasks", json=body, headers=stack.headers)
    assert response.status_code == 201, response.text
    return response.json()


def all_finished(stack, *tasks: dict) -> list[dict] | None:
    done = [finished(stack, task["id"]) for task in tasks]
    return done if all(done) else None


def at(task: dict, field: str) -> datetime:
    return datetime.fromisoformat(task[field])


def test_a_diamond_runs_in_order(stack):
    a = create(stack, "word_stats", {"text": "first"})
    b = create(stack, "word_stats", {"text": "second, left"}, a)
    c = create(stack, "word_stats", {"text": "second, right"}, a)
    d = create(stack, "word_stats", {"text": "last"}, b, c)
    assert [t["status"] for t in (b, c, d)] == ["waiting"] * 3
    a, b, c, d = wait_until(lambda: all_finished(stack, a, b, c, d), 60, "the diamond finishing")
    assert [t["status"] for t in (a, b, c, d)] == ["succeeded"] * 4
    assert at(b, "started_at") >= at(a, "finished_at") and at(c, "started_at") >= at(a, "finished_at")
    assert at(d, "started_at") >= max(at(b, "finished_at"), at(c, "finished_at"))
    assert d["attempts"] == 1


def test_a_failure_in_the_diamond_cancels_what_waits_for_it(stack):
    # A takes 3 s, so that D is created before B can fail (after that, creating D is refused: 409).
    a = create(stack, "report", {"title": "first", "seconds": 3})
    b = create(stack, "invoice_fields", {"fields": {"colour": "blue"}}, a)  # no required field: it fails for good
    c = create(stack, "word_stats", {"text": "second, right"}, a)
    d = create(stack, "word_stats", {"text": "last"}, b, c)
    a, b, c, d = wait_until(lambda: all_finished(stack, a, b, c, d), 60, "the diamond settling")
    assert [t["status"] for t in (a, b, c, d)] == ["succeeded", "failed", "succeeded", "cancelled"]
    assert d["error"] == f"task {b['id']}, which it runs after, failed" and d["started_at"] is None
    events = httpx.get(f"{stack.base_url}/tasks/{d['id']}/events", headers=stack.headers).json()
    assert [e["to_status"] for e in events] == ["waiting", "cancelled"]
