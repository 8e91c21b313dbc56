"""GET /metrics in Prometheus' text format: requests by route and status, tasks created by type, outbox lag,
the oldest queued task, and the depth and in-flight count of the queue and its dead-letter queue.

Each API process counts what it serves; the relay and the event source mapping expose their own figures.
Queue attributes cost an SQS call, so they are read at most once per QUEUE_STATS_SECONDS.
"""

import asyncio
import time

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from sqlalchemy import text

from taskflow.sqs import queue_url

QUEUE_STATS_SECONDS = 5.0
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)
OLDEST = text("""
SELECT extract(epoch FROM now() - (SELECT created_at FROM outbox WHERE published_at IS NULL ORDER BY id LIMIT 1)),
       extract(epoch FROM now() - (SELECT min(updated_at) FROM tasks WHERE status = 'queued'))
""")
QUEUE_STATES = {"visible": "ApproximateNumberOfMessages", "in_flight": "ApproximateNumberOfMessagesNotVisible"}

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
        self.queue_read_at = 0.0
        self.depths: dict[str, dict[str, int]] = {}

    async def refresh(self, request: Request) -> None:
        """Read the gauges that come from PostgreSQL and SQS."""
        async with request.app.state.autocommit_engine.connect() as connection:
            outbox_lag, oldest_queued = (await connection.execute(OLDEST)).one()
        self.outbox_lag.set(float(outbox_lag or 0))
        self.oldest_queued.set(float(oldest_queued or 0))
        await self.queue_depths(request)

    async def queue_depths(self, request: Request) -> dict[str, dict[str, int]]:
        """{"queue" | "dead_letter_queue": {state: messages}}, read from SQS at most every QUEUE_STATS_SECONDS."""
        if time.monotonic() - self.queue_read_at > QUEUE_STATS_SECONDS:
            name = request.app.state.settings.queue_name
            self.depths = await asyncio.to_thread(self._read_queues, request.app.state.sqs, name)
            self.queue_read_at = time.monotonic()
        return self.depths

    def _read_queues(self, client, name: str) -> dict[str, dict[str, int]]:
        depths = {}
        for role, queue in (("queue", name), ("dead_letter_queue", f"{name}-dlq")):
            url = queue_url(client, queue)
            attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=list(QUEUE_STATES.values()))
            depths[role] = {state: int(attributes["Attributes"].get(a, 0)) for state, a in QUEUE_STATES.items()}
            for state, count in depths[role].items():
                self.queue_messages.labels(queue, state).set(count)
        return depths


class HttpMetricsMiddleware:
    """Counts and times every request by method, route template (not the raw path) and status."""

    def __init__(self, app, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
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
