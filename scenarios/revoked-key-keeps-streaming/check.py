"""Hidden check: a revoked key stops working within the key cache's life, however busy it keeps: an open stream
gets its `revoked` event and ends, whether the key is idle or also in use elsewhere, and plain requests with it
are refused. And the cache still spares the database: a busy key costs one query per cache life, not one per
request. The API runs for real (uvicorn on loopback, with its live feed and its key cache), on the test database.
"""

import logging
import threading
import time
import uuid

import httpx
import pytest
import uvicorn
from sqlalchemy import event
from sqlalchemy.engine import Engine

from api.main import create_app
from api.settings import ApiSettings
from taskflow.services.api_keys import create_api_key, revoke_api_key

# The stream checks its key at least every 5 s (or every cache life, when shorter); a little slack on top.
STREAM_CHECK_SECONDS = 5
SLACK_SECONDS = 3
logging.getLogger("httpx").setLevel(logging.WARNING)  # a line per request drowns the report


@pytest.fixture
def serve(database_url, sqs_endpoint, queue):
    """Start the API with these settings on a free loopback port; its base URL. Stopped after the test."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(**settings) -> str:
        app = create_app(
            ApiSettings(database_url=database_url, aws_endpoint_url=sqs_endpoint, queue_name=queue.name, **settings)
        )
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", timeout_graceful_shutdown=1)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "the API did not start"
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(15)


def new_key(sessions) -> str:
    with sessions() as session:
        _, key = create_api_key(session=session, tenant_name=f"check-{uuid.uuid4().hex[:8]}", key_name="wall screen")
    return key


def revoke(sessions, key: str) -> float:
    """Revoke the key as `taskflow keys revoke` does; the moment it was done."""
    with sessions() as session:
        revoke_api_key(session=session, id_or_prefix=key[:12])
        session.commit()
    return time.monotonic()


class Viewer(threading.Thread):
    """Reads GET /stream in the background: the lines received, and when the server ended the stream."""

    def __init__(self, base_url: str, key: str, read_timeout: float) -> None:
        super().__init__(daemon=True)
        self.url, self.key, self.read_timeout = f"{base_url}/stream", key, read_timeout
        self.status: int | None = None
        self.lines: list[str] = []
        self.ended_at: float | None = None
        self.stop = threading.Event()
        self.opened = threading.Event()

    def run(self) -> None:
        timeout = httpx.Timeout(10, read=self.read_timeout)
        try:
            with httpx.stream("GET", self.url, headers={"X-API-Key": self.key}, timeout=timeout) as response:
                self.status = response.status_code
                self.opened.set()
                for line in response.iter_lines():
                    self.lines.append(line)
                    if self.stop.is_set():
                        return
            self.ended_at = time.monotonic()
        except httpx.HTTPError as error:  # the API stopped under a stream it never ended: the test has failed already
            self.lines.append(f"error: {error!r}")
        finally:
            self.opened.set()

    def ended_with_revoked(self, within: float) -> bool:
        """Wait up to `within` seconds for the server to end the stream; whether it ended after a `revoked` event."""
        self.join(within)
        self.stop.set()
        return self.ended_at is not None and "event: revoked" in self.lines


def test_an_idle_stream_ends_within_the_cache_life_once_its_key_is_revoked(serve, sessions):
    """The report: a wall screen's dashboard kept streaming with a revoked key, nothing else using the key."""
    cache_seconds = 6  # longer than the stream's check period, as in production (30 s)
    base_url, key = serve(api_key_cache_seconds=cache_seconds), new_key(sessions)
    viewer = Viewer(base_url, key, read_timeout=STREAM_CHECK_SECONDS + SLACK_SECONDS)
    viewer.start()
    assert viewer.opened.wait(15) and viewer.status == 200, "the stream opened"
    time.sleep(1)
    revoked_at = revoke(sessions, key)
    bound = cache_seconds + STREAM_CHECK_SECONDS + SLACK_SECONDS
    assert viewer.ended_with_revoked(within=bound), (
        f"the stream of a key revoked {time.monotonic() - revoked_at:.0f} s ago is still open "
        f"(key cache {cache_seconds} s); it received {viewer.lines[-4:]}"
    )
    assert viewer.ended_at - revoked_at < bound


def test_a_busy_key_stops_working_everywhere_within_the_cache_life(serve, sessions):
    """A key still in use (a script polling the API with it, the dashboard open) is refused once revoked."""
    cache_seconds = 1
    base_url, key = serve(api_key_cache_seconds=cache_seconds), new_key(sessions)
    viewer = Viewer(base_url, key, read_timeout=STREAM_CHECK_SECONDS + SLACK_SECONDS)
    viewer.start()
    assert viewer.opened.wait(15) and viewer.status == 200, "the stream opened"
    with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=10) as client:

        def poll(seconds: float) -> list[tuple[float, int]]:
            answers, until = [], time.monotonic() + seconds
            while time.monotonic() < until:
                answers.append((time.monotonic(), client.get("/tasks", params={"limit": 1}).status_code))
                time.sleep(0.1)
            return answers

        before = poll(2)
        assert {status for _, status in before} == {200}, "the key works before it is revoked"
        revoked_at = revoke(sessions, key)
        after = poll(cache_seconds + SLACK_SECONDS + 1)
    accepted = [round(at - revoked_at, 1) for at, status in after if status == 200]
    assert not accepted or accepted[-1] < cache_seconds + SLACK_SECONDS, (
        f"requests with the revoked key were still answered {accepted[-1]} s after its revocation "
        f"(key cache {cache_seconds} s)"
    )
    assert [status for _, status in after][-5:] == [401] * 5
    stream_bound = cache_seconds + min(STREAM_CHECK_SECONDS, cache_seconds) + SLACK_SECONDS
    assert viewer.ended_with_revoked(within=max(0.1, revoked_at + stream_bound - time.monotonic())), (
        f"the stream of the revoked key is still open {time.monotonic() - revoked_at:.0f} s after its revocation"
    )


def test_the_key_cache_still_spares_the_database(serve, sessions):
    """The API checks a key on every request: a busy key costs one lookup per cache life, not one per request."""
    base_url, key = serve(api_key_cache_seconds=30), new_key(sessions)
    lookups: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany) -> None:
        if "api_keys" in statement:
            lookups.append(statement)

    event.listen(Engine, "before_cursor_execute", count)
    try:
        with httpx.Client(base_url=base_url, headers={"X-API-Key": key}, timeout=10) as client:
            statuses = {client.get("/tasks", params={"limit": 1}).status_code for _ in range(40)}
    finally:
        event.remove(Engine, "before_cursor_execute", count)
    assert statuses == {200}
    assert len(lookups) <= 2, f"40 requests with one key looked it up {len(lookups)} times"
