"""GET /stream: a tenant's viewers get batches of that tenant's task changes, and nothing of other tenants'."""

import json
import threading
import time

import httpx

from devstack.dev_key import new_api_key
from tests.e2e.conftest import wait_until


def read_stream(url: str, headers: dict, seconds: float, into: list) -> None:
    deadline = time.monotonic() + seconds
    with httpx.stream("GET", url, headers=headers, timeout=seconds + 5) as response:
        into.append(response.status_code)
        for line in response.iter_lines():
            if line.startswith("data: "):
                into.append(json.loads(line.removeprefix("data: ")))
            if time.monotonic() > deadline:
                return


def test_a_viewer_sees_its_own_tasks_change_and_nobody_elses(stack):
    other = {"X-API-Key": new_api_key(stack.env["DATABASE_URL"], "someone-else")}
    received: list = []
    viewer = threading.Thread(target=read_stream, args=(f"{stack.base_url}/stream", stack.headers, 6, received))
    viewer.start()
    wait_until(lambda: received, 5, "the stream opening")

    def create(headers) -> str:
        body = {"type": "word_stats", "payload": {"text": "live"}}
        return httpx.post(f"{stack.base_url}/tasks", json=body, headers=headers).json()["id"]

    mine, theirs = create(stack.headers), create(other)
    viewer.join()

    assert received[0] == 200
    batches = [event for event in received[1:] if "changed" in event]
    seen = {task_id: status for batch in batches for task_id, status in batch["changed"].items()}
    assert seen.get(mine) == "succeeded", batches
    assert theirs not in seen
    moved = {}
    for batch in batches:
        for status, change in batch["counts"].items():
            moved[status] = moved.get(status, 0) + change
    assert moved == {"pending": 0, "queued": 0, "running": 0, "succeeded": 1}
    assert httpx.get(f"{stack.base_url}/stream", headers={"X-API-Key": "nope"}).status_code == 401
