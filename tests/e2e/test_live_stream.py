"""GET /stream: a tenant's viewers get batches of that tenant's task changes, and nothing of other tenants'."""

import json
import threading
import time

import httpx
import pytest

from devstack.dev_key import new_api_key
from taskflow.db.engine import make_engine, make_session_factory
from taskflow.services.api_keys import revoke_api_key
from tests.e2e.conftest import running_stack
from tests.waiting import wait_until


def read_stream(url: str, headers: dict, into: list, done, timeout: float = 60) -> None:
    """Read the stream's events into `into` until `done(into)` holds (checked at each line) or `timeout` passes."""
    deadline = time.monotonic() + timeout
    with httpx.stream("GET", url, headers=headers, timeout=timeout + 5) as response:
        into.append(response.status_code)
        for line in response.iter_lines():
            if line.startswith("data: "):
                into.append(json.loads(line.removeprefix("data: ")))
            if done(into) or time.monotonic() > deadline:
                return


def changes(received: list) -> dict:
    """{task id: its latest status} over the stream's `tasks` batches."""
    batches = [event for event in received[1:] if "changed" in event]
    return {task_id: status for batch in batches for task_id, status in batch["changed"].items()}


def pipelines(received: list) -> list[dict]:
    """The stream's `pipeline` events: the path's figures, every few seconds."""
    return [event for event in received[1:] if "stages" in event]


def test_a_viewer_sees_its_own_tasks_change_and_nobody_elses(stack):
    other = {"X-API-Key": new_api_key(stack.env["DATABASE_URL"], "someone-else")}
    created: dict[str, str] = {}

    def create(headers) -> str:
        body = {"type": "word_stats", "payload": {"text": "live"}}
        return httpx.post(f"{stack.base_url}/tasks", json=body, headers=headers).json()["id"]

    def status(task_id: str, headers: dict) -> str:
        return httpx.get(f"{stack.base_url}/tasks/{task_id}", headers=headers).json()["status"]

    def both_finished_and_mine_seen(received: list) -> bool:
        # Theirs finished too, so any event of theirs would have reached this stream by now.
        finished = len(created) == 2 and changes(received).get(created["mine"]) == "succeeded" and (
            status(created["theirs"], other) == "succeeded"
        )
        # ... and the path's figures, sent every few seconds, count the finish of mine.
        figures = pipelines(received)
        return finished and bool(figures) and figures[-1]["stages"]["claimed_to_finished"]["tasks"] == 1

    received: list = []
    viewer = threading.Thread(
        target=read_stream, args=(f"{stack.base_url}/stream", stack.headers, received, both_finished_and_mine_seen)
    )
    viewer.start()
    wait_until(lambda: received, 5, "the stream opening")
    created["theirs"] = create(other)
    created["mine"] = create(stack.headers)
    viewer.join()

    assert received[0] == 200
    seen = changes(received)
    assert seen.get(created["mine"]) == "succeeded", received
    assert created["theirs"] not in seen
    assert max(p["stages"]["claimed_to_finished"]["tasks"] for p in pipelines(received)) == 1, "theirs not counted"
    moved: dict[str, int] = {}
    for batch in (event for event in received[1:] if "changed" in event):
        for state, change in batch["counts"].items():
            moved[state] = moved.get(state, 0) + change
    # `queued` may be skipped (the claim can beat the relay's mark): every state but the last nets out at 0.
    assert {state: net for state, net in moved.items() if net} == {"succeeded": 1}
    assert httpx.get(f"{stack.base_url}/stream", headers={"X-API-Key": "nope"}).status_code == 401


@pytest.fixture(scope="module")
def strict_stack(postgres_server_url, sqs_endpoint, tmp_path_factory):
    """A stack whose key cache lasts a second and where one key may hold three streams."""
    env = {"API_KEY_CACHE_SECONDS": "1", "MAX_STREAMS_PER_KEY": "3"}
    log = tmp_path_factory.mktemp("strict") / "stack.log"
    with running_stack(postgres_server_url, sqs_endpoint, log, env) as running:
        yield running


def test_a_revoked_keys_open_stream_is_told_and_closed(strict_stack):
    key = new_api_key(strict_stack.env["DATABASE_URL"], "soon-revoked")
    lines: list[str] = []
    with httpx.stream("GET", f"{strict_stack.base_url}/stream", headers={"X-API-Key": key}, timeout=30) as response:
        assert response.status_code == 200
        with make_session_factory(make_engine(strict_stack.env["DATABASE_URL"], pool_size=1))() as session:
            revoke_api_key(session=session, id_or_prefix=key[:12])
        revoked_at = time.monotonic()
        lines.extend(response.iter_lines())  # returns once the server ends the stream
    assert time.monotonic() - revoked_at < 10, "ended within the key cache's life and one check"
    assert "event: revoked" in lines


def test_one_key_holds_at_most_its_share_of_streams(strict_stack):
    url, headers = f"{strict_stack.base_url}/stream", strict_stack.headers
    with httpx.Client(timeout=30) as client:
        opened = [client.stream("GET", url, headers=headers) for _ in range(3)]
        responses = [stream.__enter__() for stream in opened]
        assert [r.status_code for r in responses] == [200, 200, 200]
        refused = client.get(url, headers=headers)
        assert refused.status_code == 429 and refused.headers["retry-after"]
        assert refused.json()["type"] == "urn:taskflow:problem:too-many-streams"
        other_key = {"X-API-Key": new_api_key(strict_stack.env["DATABASE_URL"], "another-viewer")}
        with client.stream("GET", url, headers=other_key) as another:
            assert another.status_code == 200, "the limit is per key"
        opened[0].__exit__(None, None, None)
        wait_until(lambda: status_on_opening(client, url, headers) == 200, 10, "the closed stream's slot free again")
        for stream in opened[1:]:
            stream.__exit__(None, None, None)


def status_on_opening(client: httpx.Client, url: str, headers: dict) -> int:
    with client.stream("GET", url, headers=headers) as response:
        return response.status_code
