"""Figures: a tenant's tasks by status and type, throughput and create-to-finish latency, its tasks in each stage
of the path and the time they spend there, its activity over the last minutes; and the whole system's backlog (how
long the oldest unpublished message and the oldest queued task have waited)."""

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import text
from sqlalchemy.orm import Session

from taskflow.clock import utc_now

COUNTS = text("SELECT status, type, count(*) FROM tasks WHERE tenant_id = :tenant GROUP BY status, type")
SCHEDULES = text("SELECT CASE WHEN paused THEN 'paused' ELSE 'active' END, count(*) FROM schedules "
                 "WHERE tenant_id = :tenant GROUP BY 1")  # fmt: skip
WEBHOOKS = text("SELECT status, count(*) FROM webhook_deliveries WHERE tenant_id = :tenant GROUP BY status")
RECENT = text("""
SELECT count(*) FILTER (WHERE finished_at > now() - interval '1 minute'),
       count(*),
       percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at)),
       percentile_cont(0.95) WITHIN GROUP (ORDER BY extract(epoch FROM finished_at - created_at))
FROM tasks
WHERE tenant_id = :tenant AND finished_at > now() - interval '1 hour'
""")
# The outbox's lag counts only messages that are due (a delayed task's row waits there on purpose).
BACKLOG = text("""
SELECT extract(epoch FROM now() - (SELECT created_at FROM outbox WHERE published_at IS NULL AND due_at IS NULL
                                   ORDER BY id LIMIT 1)),
       extract(epoch FROM now() - (SELECT min(updated_at) FROM tasks WHERE status = 'queued'))
""")


@dataclass(frozen=True)
class TenantStats:
    """What /stats reports for one tenant (latencies in seconds, None without finished tasks)."""

    by_status: dict[str, int]
    by_type: dict[str, dict[str, int]]
    finished_last_minute: int
    finished_last_hour: int
    latency_p50_seconds: float | None
    latency_p95_seconds: float | None
    schedules: dict[str, int]  # active, paused
    webhooks: dict[str, int]  # deliveries by status: pending, delivered, failed


def tenant_stats(session: Session, *, tenant_id: uuid.UUID) -> TenantStats:
    """Count the tenant's tasks, schedules and webhook deliveries, and measure the last hour's create-to-finish
    latency."""
    by_status: dict[str, int] = {}
    by_type: dict[str, dict[str, int]] = {}
    for status, task_type, count in session.execute(COUNTS, {"tenant": tenant_id}):
        by_status[status] = by_status.get(status, 0) + count
        by_type.setdefault(task_type, {})[status] = count
    minute, hour, p50, p95 = session.execute(RECENT, {"tenant": tenant_id}).one()
    schedules = dict(session.execute(SCHEDULES, {"tenant": tenant_id}).all())
    webhooks = dict(session.execute(WEBHOOKS, {"tenant": tenant_id}).all())
    return TenantStats(by_status, by_type, minute, hour, _seconds(p50), _seconds(p95), schedules, webhooks)


def _seconds(value) -> float | None:
    return None if value is None else round(float(value), 3)


@dataclass(frozen=True)
class Backlog:
    """Seconds the oldest unpublished outbox message and the oldest queued task have waited (0: none waits)."""

    outbox_lag_seconds: float
    oldest_queued_seconds: float


def backlog(session: Session) -> Backlog:
    """How far behind the relay and the consumers are, over every tenant (both served by small indexes)."""
    outbox_lag, oldest_queued = session.execute(BACKLOG).one()
    return Backlog(float(outbox_lag or 0), float(oldest_queued or 0))


# The stages a task's create -> finish time splits into, from the timestamps the system keeps: the API's commit
# (created_at), SQS's receipt of the message and its first hand-out to the mapping (both kept in the claim's
# event; the relay's published_at, stamped after its send returns, stands in before the claim), the claim
# (started_at) and the finish. `bench.stages` measures the same stages.
STAGES = {
    "committed_to_published": "published_at - created_at",
    "published_to_received": "received_at - published_at",
    "received_to_claimed": "started_at - received_at",
    "claimed_to_finished": "finished_at - started_at",
}
STAGE_TIMES = """
SELECT t.created_at, t.started_at, t.finished_at, run.received_at,
       coalesce(run.sent_at, (SELECT min(o.published_at) FROM outbox o WHERE o.task_id = t.id)) AS published_at
FROM tasks t
LEFT JOIN LATERAL (
    SELECT (e.detail->>'sent_at')::timestamptz AS sent_at, (e.detail->>'received_at')::timestamptz AS received_at
    FROM task_events e WHERE e.task_id = t.id AND e.to_status = 'running' ORDER BY e.id LIMIT 1
) run ON true
"""
RECENT_TASKS = "WHERE t.tenant_id = :tenant AND t.created_at >= now() - make_interval(secs => :seconds)"
STAGE_FIGURES = ", ".join(
    f"count({span}), percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM {span}))"
    for span in STAGES.values()
)
PIPELINE_STAGES = text(f"WITH recent AS ({STAGE_TIMES} {RECENT_TASKS}) SELECT {STAGE_FIGURES} FROM recent")
# What is in each stage right now: the tenant's due messages not yet sent, queued and running tasks, dead letters.
PIPELINE_NOW = text("""
SELECT (SELECT count(*) FROM outbox o JOIN tasks t ON t.id = o.task_id
        WHERE o.published_at IS NULL AND (o.due_at IS NULL OR o.due_at <= now()) AND t.tenant_id = :tenant),
       (SELECT count(*) FROM tasks WHERE tenant_id = :tenant AND status = 'queued'),
       (SELECT count(*) FROM tasks WHERE tenant_id = :tenant AND status = 'running'),
       (SELECT count(*) FROM dead_letters WHERE tenant_id = :tenant)
""")


@dataclass(frozen=True)
class StageTimes:
    """How many of the window's tasks passed a stage, and the p50 and p99 of the time they spent in it (seconds)."""

    tasks: int
    p50_seconds: float | None
    p99_seconds: float | None


@dataclass(frozen=True)
class Pipeline:
    """A tenant's tasks in each stage now, and the time its recent tasks spent in each."""

    unpublished: int  # due outbox messages the relay has not sent yet
    queued: int
    running: int
    dead_letters: int
    window_seconds: int
    stages: dict[str, StageTimes]


def pipeline(session: Session, *, tenant_id: uuid.UUID, window_seconds: int = 60) -> Pipeline:
    """The tenant's tasks in each stage of the path now, and each stage's p50/p99 over the tasks created in the last
    `window_seconds`."""
    now = session.execute(PIPELINE_NOW, {"tenant": tenant_id}).one()
    figures = session.execute(PIPELINE_STAGES, {"tenant": tenant_id, "seconds": window_seconds}).one()
    stages = {
        stage: StageTimes(figures[2 * i], *(_seconds(p) for p in (figures[2 * i + 1] or [None, None])))
        for i, stage in enumerate(STAGES)
    }
    return Pipeline(*now, window_seconds, stages)


# Each bucket's status changes by task type (served by the BRIN index on task_events.created_at, migration 0016).
HISTORY_EVENTS = text("""
SELECT t.type, floor(extract(epoch FROM e.created_at - :since) / :bucket)::int,
       count(*) FILTER (WHERE e.from_status IS NULL),
       count(*) FILTER (WHERE e.to_status = 'succeeded'),
       count(*) FILTER (WHERE e.to_status = 'failed'),
       count(*) FILTER (WHERE e.from_status = 'running' AND e.to_status = 'queued'),
       percentile_cont(ARRAY[0.5, 0.99]) WITHIN GROUP (ORDER BY extract(epoch FROM e.created_at - t.created_at))
           FILTER (WHERE e.to_status = 'succeeded')
FROM task_events e JOIN tasks t ON t.id = e.task_id
WHERE e.created_at >= :since AND t.tenant_id = :tenant
GROUP BY 1, 2
""")
HISTORY_DEAD_LETTERS = text("""
SELECT coalesce(t.type, 'unknown'), floor(extract(epoch FROM d.recorded_at - :since) / :bucket)::int, count(*)
FROM dead_letters d LEFT JOIN tasks t ON t.id = d.task_id
WHERE d.tenant_id = :tenant AND d.recorded_at >= :since
GROUP BY 1, 2
""")


@dataclass
class HistoryPoint:
    """One task type's activity in one bucket: tasks created, succeeded, failed, retried and dead-lettered, and the
    create -> succeeded p50/p99 of those that succeeded in it (seconds)."""

    type: str
    at: datetime
    created: int = 0
    succeeded: int = 0
    failed: int = 0
    retried: int = 0
    dead_lettered: int = 0
    latency_p50_seconds: float | None = None
    latency_p99_seconds: float | None = None


def history(
    session: Session, *, tenant_id: uuid.UUID, minutes: int, bucket_seconds: int
) -> tuple[datetime, list[HistoryPoint]]:
    """The first bucket's start, and the tenant's activity over the last `minutes` by type and bucket of
    `bucket_seconds` (buckets aligned to multiples of it, the first holding the window's start, the last the
    current one), oldest first; a bucket in which a type saw nothing is left out."""
    start = utc_now().timestamp() - minutes * 60
    since = datetime.fromtimestamp(start - start % bucket_seconds, UTC)  # the bucket the window starts in
    values = {"tenant": tenant_id, "since": since, "bucket": bucket_seconds}
    points: dict[tuple[str, int], HistoryPoint] = {}

    def point(task_type: str, bucket: int) -> HistoryPoint:
        at = since + timedelta(seconds=bucket * bucket_seconds)
        return points.setdefault((task_type, bucket), HistoryPoint(task_type, at))

    for task_type, bucket, created, succeeded, failed, retried, latency in session.execute(HISTORY_EVENTS, values):
        found = point(task_type, bucket)
        found.created, found.succeeded, found.failed, found.retried = created, succeeded, failed, retried
        found.latency_p50_seconds, found.latency_p99_seconds = (_seconds(p) for p in latency or [None, None])
    for task_type, bucket, count in session.execute(HISTORY_DEAD_LETTERS, values):
        point(task_type, bucket).dead_lettered = count
    return since, sorted(points.values(), key=lambda p: (p.at, p.type))
