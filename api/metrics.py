"""GET /metrics in Prometheus' text format: requests by route and status, tasks created by type, outbox lag,
the oldest queued task, and the depth and in-flight count of each queue and its dead-letter queue.

Each API process counts what it serves; the relay and the event source mapping expose their own figures.
Queue attributes cost an SQS call, so they are read at most once per QUEUE_STATS_SECONDS (taskflow.sqs.QueueDepths),
for /metrics, /stats and the dashboard's stream alike.
"""

import asyncio
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy.exc import SQLAlchemyError

from api.asgi import HttpMiddleware
from taskflow.services.stats import backlog

QUEUE_STATS_SECONDS = 5.0
# A scrape waits this long for a database connection and the backlog query. When the pool has run dry, the scrape
# still answers, with the pool's figures and the last backlog read: the moment they are needed most.
DATABASE_SECONDS = 2.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

router = APIRouter(tags=["operations"])


class Metrics:
    """The app's own registry and instruments (one per app, so tests and apps do not share counts)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "taskflow_http_requests", "HTTP requests served", ["method", "route", "status"], registry=self.registry
        )
        self.latency = Histogram(
            "taskflow_http_request_duration_seconds",
            "Time to serve an HTTP request",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.database_unread = Counter(
            "taskflow_metrics_database_unread",
            f"Scrapes that could not read the backlog from PostgreSQL within {DATABASE_SECONDS:g} s",
            registry=self.registry,
        )
        self.tasks_created = Counter("taskflow_tasks_created", "Tasks created", ["type"], registry=self.registry)
        self.outbox_lag = Gauge(
            "taskflow_outbox_lag_seconds", "Age of the oldest unpublished outbox row (0: none)", registry=self.registry
        )
        self.oldest_queued = Gauge(
            "taskflow_oldest_queued_task_seconds",
            "Time the longest-waiting queued task has waited",
            registry=self.registry,
        )
        self.queue_messages = Gauge(
            "taskflow_queue_messages", "Messages in a queue, by state", ["queue", "state"], registry=self.registry
        )
        self.pool_connections = Gauge(
            "taskflow_db_pool_connections",
            "This process's database connections, by state: in_use (checked out) or idle (in the pool)",
            ["state"],
            registry=self.registry,
        )
        self.pool_size = Gauge(
            "taskflow_db_pool_size", "Connections the pool keeps (DATABASE_POOL_SIZE)", registry=self.registry
        )

    async def refresh(self, request: Request) -> None:
        """Read the gauges that come from PostgreSQL and SQS."""
        self.read_pool(request.app.state.autocommit_engine.sync_engine.pool)
        try:
            async with asyncio.timeout(DATABASE_SECONDS), request.app.state.sessions() as session:
                figures = await session.run_sync(backlog)
        except (TimeoutError, SQLAlchemyError):
            self.database_unread.inc()
        else:
            self.outbox_lag.set(figures.outbox_lag_seconds)
            self.oldest_queued.set(figures.oldest_queued_seconds)
            self.read_pool(request.app.state.autocommit_engine.sync_engine.pool)
        await queue_depths(request)

    def read_pool(self, pool) -> None:
        """The pool's figures (read again once this scrape has given its own connection back)."""
        self.pool_connections.labels("in_use").set(pool.checkedout())
        self.pool_connections.labels("idle").set(pool.checkedin())
        self.pool_size.set(pool.size())


async def queue_depths(request: Request) -> dict[str, dict[str, int]]:
    """{"queue" | "dead_letter_queue" | "high_priority_queue" | "high_priority_dead_letter_queue":
    {"visible" | "in_flight": messages}}, as /stats and the stream show them; the gauges follow along."""
    reader = request.app.state.queue_depths
    depths = await asyncio.to_thread(reader.read)
    shown = {role: {"visible": c.visible, "in_flight": c.in_flight} for role, c in depths.items()}
    for role, counts in shown.items():
        for state, count in counts.items():
            request.app.state.metrics.queue_messages.labels(reader.names[role], state).set(count)
    return shown


class HttpMetricsMiddleware(HttpMiddleware):
    """Counts and times every request by method, route template (not the raw path) and status."""

    def __init__(self, app, metrics: Metrics) -> None:
        super().__init__(app)
        self.metrics = metrics

    async def handle(self, scope, receive, send) -> None:
        started = time.perf_counter()
        status = 500

        async def recording_send(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """Prometheus' scrape endpoint (not part of the tenant API: no key, no tenant data)."""
    await request.app.state.metrics.refresh(request)
    return Response(generate_latest(request.app.state.metrics.registry), media_type=CONTENT_TYPE_LATEST)
