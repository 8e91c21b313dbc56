"""The live dashboard: the page at /, its static files, and GET /stream (server-sent events: the tenant's task
changes as PostgreSQL notifies them, and the queues' depths every few seconds).

A stream holds its key for as long as it is open, so the key is checked again while it runs: once the key's
cache entry expires, a revoked key's stream gets a `revoked` event and ends. One key may hold at most
MAX_STREAMS_PER_KEY streams in one API process.
"""

import asyncio
import json
import time
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Annotated

import httpx
from fastapi import APIRouter, Request, Security
from fastapi.responses import FileResponse, StreamingResponse
from sqlalchemy import select

from api.auth import TenantDep, api_key_header
from api.dependencies import SessionDep
from api.metrics import queue_depths
from api.pipeline import pipeline_event
from api.problems import problem_responses
from taskflow.db.models import Task
from taskflow.domain.errors import TooManyStreams
from taskflow.services.api_keys import hash_key

PAGE = Path(__file__).resolve().parent.parent / "dashboard"
QUEUES_EVERY_SECONDS = 5.0
REVOKED = b'event: revoked\ndata: {"detail": "the API key was revoked"}\n\n'

router = APIRouter(tags=["dashboard"])


class OpenStreams:
    """How many streams each key holds open in this process, up to a limit."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.by_key: Counter[str] = Counter()

    def open(self, key_hash: str) -> None:
        """Count one more stream for the key; TooManyStreams if it already holds `limit`."""
        if self.by_key[key_hash] >= self.limit:
            raise TooManyStreams(self.limit)
        self.by_key[key_hash] += 1

    def close(self, key_hash: str) -> None:
        self.by_key[key_hash] -= 1
        if self.by_key[key_hash] <= 0:
            del self.by_key[key_hash]


class ClosingStreamingResponse(StreamingResponse):
    """A streaming response that runs `on_close` however it ends: finished, cut off, or never started."""

    def __init__(self, content: AsyncIterator[bytes], on_close: Callable[[], None], **options) -> None:
        super().__init__(content, **options)
        self.on_close = on_close

    async def __call__(self, scope, receive, send) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


@router.get("/", include_in_schema=False)
async def dashboard() -> FileResponse:
    """The dashboard page (it asks for the API key once per tab)."""
    return FileResponse(PAGE / "index.html")


@router.get("/dashboard-emails", include_in_schema=False)
async def emails_per_task(tenant: TenantDep, session: SessionDep, request: Request) -> dict[str, int]:
    """How many emails make dev's sink received from each of the tenant's tasks ({} without a sink)."""
    sink = request.app.state.settings.mail_sink_url
    if not sink:
        return {}
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            received: dict[str, int] = (await client.get(f"{sink}/deliveries")).raise_for_status().json()
    except (httpx.HTTPError, ValueError):
        return {}  # the sink is down: the dashboard shows no counts rather than an error
    ids = [task_id for task_id in received if _is_uuid(task_id)]
    owned = await session.scalars(select(Task.id).where(Task.tenant_id == tenant, Task.id.in_(ids)))
    return {str(task_id): received[str(task_id)] for task_id in owned}


def _is_uuid(text: str) -> bool:
    try:
        uuid.UUID(text)
        return True
    except ValueError:
        return False


@router.get(
    "/stream",
    operation_id="streamEvents",
    responses={200: {"content": {"text/event-stream": {}}}, **problem_responses(401, 429)},
    response_class=StreamingResponse,
)
async def stream(
    tenant: TenantDep, request: Request, key: Annotated[str | None, Security(api_key_header)]
) -> StreamingResponse:
    """Server-sent events: `tasks` ({"changed": {task id: status}, "counts": {status: change}}), a batch of your
    tasks' changes at most twice a second; `queues` (the queue's and dead-letter queue's depths) and `pipeline`
    (as GET /stats/pipeline) every few seconds; and `revoked`, after which the stream ends, when the key is
    revoked."""
    streams: OpenStreams = request.app.state.open_streams
    key_hash = hash_key(key)
    streams.open(key_hash)
    feed = request.app.state.task_feed
    updates = feed.subscribe(tenant)

    def close() -> None:
        feed.unsubscribe(tenant, updates)
        streams.close(key_hash)

    return ClosingStreamingResponse(
        _events(request, key, tenant, updates),
        on_close=close,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, key: str, tenant: uuid.UUID, updates: asyncio.Queue) -> AsyncIterator[bytes]:
    # Every `period` seconds, however busy the tenant: the key is checked (a revoked key is noticed within its
    # cache entry's life), then the queues' depths and the path's figures are sent (the page never polls them).
    period = min(QUEUES_EVERY_SECONDS, request.app.state.settings.api_key_cache_seconds)
    due = time.monotonic() + period
    yield b": connected\n\n"
    while True:  # Starlette cancels this generator when the client goes away
        try:
            batch = await asyncio.wait_for(updates.get(), max(0.0, due - time.monotonic()))
        except TimeoutError:
            batch = b""
        if time.monotonic() >= due:
            if await request.app.state.api_keys.tenant_of(key) is None:
                yield REVOKED
                return
            depths = await queue_depths(request)
            yield f"event: queues\ndata: {json.dumps(depths)}\n\n".encode()
            yield await pipeline_event(request, tenant)
            due = time.monotonic() + period
        if batch is None:  # this viewer fell too far behind: it reconnects and reloads
            return
        if batch:
            yield batch
