"""A tenant as big as the one that complained: 200,000 tasks, its failed ones among the oldest. The dashboard's
"failed" tab lists them: with the index gone, PostgreSQL reads the whole tenant for one page, and the API's
latency for GET /tasks climbs (the route's histogram on the API's /metrics)."""

import psycopg

from scenarios.provoking import SymptomNotSeen
from taskflow.db.engine import libpq_url

SEED = """
INSERT INTO tasks (id, tenant_id, type, payload, status, labels, correlation_id, created_at, updated_at)
SELECT gen_random_uuid(), %(tenant)s, 'word_stats', '{}'::jsonb,
       CASE WHEN i > 199900 THEN 'failed' ELSE 'succeeded' END, '{}', 'provoke', now() - (i || ' s')::interval, now()
FROM generate_series(1, 200000) AS i
"""
LISTINGS = 10
# With the index, both tabs read about a page (about 1x); without it, the failed tab reads the whole tenant: 4 to 10x
# on an idle machine, down to 4x when other work shares its two cores (seen in CI).
SLOWER = 3


def provoke(stack) -> str:
    tenant, key = stack.new_tenant("big-tenant")
    with psycopg.connect(libpq_url(stack.env["DATABASE_URL"]), autocommit=True) as connection:
        connection.execute(SEED, {"tenant": tenant})
        connection.execute("ANALYZE tasks")
    failed_tab = average_listing(stack, key, {"status": "failed"})
    all_tab = average_listing(stack, key, {})
    if failed_tab < SLOWER * all_tab:
        raise SymptomNotSeen(f"the failed tab took {failed_tab * 1000:.0f} ms, all tasks {all_tab * 1000:.0f} ms")
    return (f"GET /tasks?status=failed took {failed_tab * 1000:.0f} ms on average, GET /tasks {all_tab * 1000:.0f} ms"
            " (taskflow_http_request_duration_seconds on the API's /metrics)")  # fmt: skip


def average_listing(stack, key: str, filters: dict) -> float:
    """The average time the API took for LISTINGS pages of the tenant's tasks, as its latency histogram says."""
    latency = {part: stack.watch("api", f"taskflow_http_request_duration_seconds_{part}", route="/tasks", method="GET")
               for part in ("sum", "count")}  # fmt: skip
    for _ in range(LISTINGS):
        stack.api.get("/tasks", params={**filters, "limit": 50}, headers={"X-API-Key": key}).raise_for_status()
    took = {part: watch.now() - watch.before for part, watch in latency.items()}
    return took["sum"] / max(took["count"], 1)
