"""The live dashboard: the page at /, its static files, and GET /stream (server-sent events: the tenant's task
changes as PostgreSQL notifies them, and the queues' depths every few seconds)."""

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, StreamingResponse

from api.auth import TenantDep
from api.problems import problem_responses

PAGE = Path(__file__).resolve().parent.parent / "dashboard"
QUEUES_EVERY_SECONDS = 5.0

router = APIRouter(tags=["dashboard"])


@router.get("/", include_in_schema=False)
async def dashboard() -> FileResponse:
    """The dashboard page (it asks for the API key once per tab)."""
    return FileResponse(PAGE / "index.html")


@router.get(
    "/stream",
    operation_id="streamEvents",
    responses={200: {"content": {"text/event-stream": {}}}, **problem_responses(401)},
    response_class=StreamingResponse,
)
async def stream(tenant: TenantDep, request: Request) -> StreamingResponse:
    """Server-sent events: `tasks` ({"changed": {task id: status}, "counts": {status: change}}), a batch of your
    tasks' changes at most twice a second, and `queues` (the queue's and dead-letter queue's depths)."""
    feed = request.app.state.task_feed
    updates = feed.subscribe(tenant)
    return StreamingResponse(
        _events(request, updates, lambda: feed.unsubscribe(tenant, updates)),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )


async def _events(request: Request, updates: asyncio.Queue, close) -> AsyncIterator[bytes]:
    try:
        yield b": connected\n\n"
        while True:  # Starlette cancels this generator when the client goes away
            try:
                batch = await asyncio.wait_for(updates.get(), QUEUES_EVERY_SECONDS)
            except TimeoutError:
                depths = await request.app.state.metrics.queue_depths(request)
                yield f"event: queues\ndata: {json.dumps(depths)}\n\n".encode()
                continue
            if batch is None:  # this viewer fell too far behind: it reconnects and reloads
                return
            yield batch
    finally:
        close()
