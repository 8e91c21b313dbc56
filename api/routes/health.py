"""/health (is the process alive) and /ready (can it reach the database and the queue)."""

import asyncio
import logging

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from sqlalchemy import text

from api.problems import problem, problem_responses
from api.schemas import Health, Readiness
from taskflow.sqs import queue_counts, queue_url

router = APIRouter(tags=["health"])
log = logging.getLogger("api")
# A database that accepts connections and never answers (a stopped server, a black-holed network) must make
# /ready answer 503, not hang the probe: each check gets this long.
CHECK_SECONDS = 2.0


@router.get("/health", response_model=Health, operation_id="health")
async def health() -> Health:
    """Liveness: answers as long as the process serves requests."""
    return Health(status="ok")


async def _check_database(request: Request) -> str:
    try:
        async with asyncio.timeout(CHECK_SECONDS), request.app.state.sessions() as session:
            await session.execute(text("SELECT 1"))
        return "ok"
    except Exception as error:  # TimeoutError included
        log.warning("database not reachable", extra={"error": str(error)})
        return "unreachable"


def _check_queue(request: Request) -> str:
    client, settings = request.app.state.sqs, request.app.state.settings
    try:
        for name in (settings.queue_name, settings.high_priority_queue_name):
            queue_counts(client, queue_url(client, name))
        return "ok"
    except Exception as error:
        log.warning("queue not reachable", extra={"error": str(error)})
        return "unreachable"


@router.get(
    "/ready",
    response_model=Readiness,
    operation_id="ready",
    responses=problem_responses(503),
)
async def ready(request: Request):
    """Readiness: the database and the task queue both answer."""
    # boto3 blocks, so its check runs in a worker thread while the database check awaits.
    checks = {"database": await _check_database(request), "queue": await run_in_threadpool(_check_queue, request)}
    if all(result == "ok" for result in checks.values()):
        return Readiness(status="ready", checks=checks)
    return problem(503, title="Not ready", detail="a dependency is unreachable", checks=checks)
