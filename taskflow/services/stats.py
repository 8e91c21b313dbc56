"""Figures: a tenant's tasks by status and type, throughput and create-to-finish latency; and the whole system's
backlog (how long the oldest unpublished message and the oldest queued task have waited)."""

import uuid
from dataclasses import dataclass

from sqlalchemy import text
from sqlalchemy.orm import Session

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
