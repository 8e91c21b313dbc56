"""A wall screen's dashboard: a key of its own follows GET /stream, and the key is revoked (as `taskflow keys
revoke` does) while the stream is open. Fixed, the stream gets its `revoked` event and ends within the key
cache's life and one check (35 s by default); with the fault, its own checks keep the key's cache entry alive:
the stream still sends events long after, and GET /tasks with the key still answers 200 (taskflow_http_requests_total
of GET /tasks with status 200 on the API's /metrics)."""

import threading
import time

import httpx

from scenarios.provoking import SymptomNotSeen
from taskflow.db.engine import make_engine, make_session_factory
from taskflow.services.api_keys import revoke_api_key

AFTER_REVOKING_SECONDS = 50.0  # longer than the default key cache's life (30 s) and a stream check (5 s), with room


def provoke(stack) -> str:
    _, key = stack.new_tenant("wall-screen")
    lines: list[str] = []
    ended = threading.Event()

    def follow() -> None:
        try:
            timeout = httpx.Timeout(10, read=30)
            with httpx.stream("GET", f"{stack.env['API']}/stream", headers={"X-API-Key": key}, timeout=timeout) as got:
                for line in got.iter_lines():
                    lines.append(line)
                    if time.monotonic() > stack.deadline:
                        return
        except httpx.HTTPError as error:
            lines.append(f"error: {error}")
        ended.set()

    threading.Thread(target=follow, daemon=True).start()
    stack.wait_for("the stream opening", lambda: lines, every=0.1)
    served = stack.watch("api", "taskflow_http_requests_total", method="GET", route="/tasks", status="200")
    revoke(stack, key)
    revoked_at = time.monotonic()
    if ended.wait(AFTER_REVOKING_SECONDS):
        took = time.monotonic() - revoked_at
        raise SymptomNotSeen(f"the stream ended {took:.0f} s after the revocation: {lines[-3:]}")
    answered = stack.api.get("/tasks", params={"limit": 1}, headers={"X-API-Key": key}).status_code
    if answered != 200:
        raise SymptomNotSeen(f"the stream is still open, but GET /tasks with the revoked key answers {answered}")
    events = sum(line.startswith("event: ") for line in lines)
    return (f"{served.rises_by(1)}: {AFTER_REVOKING_SECONDS:.0f} s after its key was revoked, GET /tasks with it"
            f" answers 200 and its stream is still open ({events} events so far)")  # fmt: skip


def revoke(stack, key: str) -> None:
    engine = make_engine(stack.env["DATABASE_URL"])
    try:
        with make_session_factory(engine)() as session:
            revoke_api_key(session=session, id_or_prefix=key[:12])
            session.commit()
    finally:
        engine.dispose()
