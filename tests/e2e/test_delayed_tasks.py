"""A delayed task through the real processes: scheduled until its time, then run once, never before."""

from datetime import datetime

import httpx

from tests.e2e.test_task_flow import finished
from tests.waiting import wait_until


def test_a_delayed_task_is_scheduled_until_its_time_then_runs_once(stack):
    body = {"type": "word_stats", "payload": {"text": "see you in three seconds"}, "delay_seconds": 3}
    task = httpx.post(f"{stack.base_url}/tasks", json=body, headers=stack.headers).json()
    assert task["status"] == "scheduled"
    done = wait_until(lambda: finished(stack, task["id"]), 30, "the delayed task finishing")
    assert done["status"] == "succeeded" and done["attempts"] == 1
    assert datetime.fromisoformat(done["started_at"]) >= datetime.fromisoformat(task["run_at"]), "never early"
    events = httpx.get(f"{stack.base_url}/tasks/{task['id']}/events", headers=stack.headers).json()
    assert [e["to_status"] for e in events] == ["scheduled", "running", "succeeded"]
