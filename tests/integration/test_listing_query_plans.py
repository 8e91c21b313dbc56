"""At a million tasks, every documented listing filter is served by an index, not a sequential scan."""

import json
import uuid
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from sqlalchemy.dialects import postgresql

from devstack.postgres import create_database, drop_database, migrate
from taskflow.db.engine import libpq_url
from taskflow.domain.states import TaskStatus
from taskflow.services.listing import TaskFilter, task_list_query

ROWS = 1_000_000
TENANTS = [uuid.uuid4() for _ in range(4)]
SEED = f"""
INSERT INTO tasks (id, tenant_id, type, payload, status, labels, correlation_id, created_at, updated_at)
SELECT gen_random_uuid(),
       (%(tenants)s::uuid[])[1 + i %% {len(TENANTS)}],
       (ARRAY['word_stats', 'invoice_fields', 'resize', 'notify'])[1 + i %% 4],
       '{{}}'::jsonb,
       (ARRAY['succeeded', 'succeeded', 'succeeded', 'failed', 'queued', 'running', 'cancelled',
              'pending'])[1 + i %% 8],
       ARRAY['label-' || (i %% 1000)],
       'seed',
       now() - (i || ' seconds')::interval,
       now()
FROM generate_series(1, {ROWS}) AS i
"""


@pytest.fixture(scope="module")
def million_tasks(postgres_server_url):
    name = f"taskflow_plans_{uuid.uuid4().hex[:8]}"
    url = create_database(postgres_server_url, name)
    migrate(url)
    with psycopg.connect(libpq_url(url), autocommit=True) as connection:
        for tenant_id in TENANTS:
            connection.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant_id, str(tenant_id)))
        connection.execute(SEED, {"tenants": TENANTS})
        connection.execute("ANALYZE tasks")
        yield connection
    drop_database(postgres_server_url, name)


def plan_of(connection, filters: TaskFilter) -> dict:
    query = task_list_query(filters, limit=51)
    sql = str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True}))
    return connection.execute(f"EXPLAIN (FORMAT JSON) {sql}").fetchone()[0][0]["Plan"]


def nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", []):
        yield from nodes(child)


AN_HOUR_AGO = datetime.now(UTC) - timedelta(hours=1)
FILTERS = {
    "no filter": {},
    "oldest first": {"oldest_first": True},
    "one status": {"statuses": (TaskStatus.FAILED,)},
    "several statuses": {"statuses": (TaskStatus.FAILED, TaskStatus.CANCELLED)},
    "type": {"type": "invoice_fields"},
    "label": {"label": "label-7"},
    "created range": {"created_after": AN_HOUR_AGO - timedelta(hours=1), "created_before": AN_HOUR_AGO},
    "status and range": {"statuses": (TaskStatus.QUEUED,), "created_after": AN_HOUR_AGO},
}


@pytest.mark.parametrize("name", FILTERS)
def test_the_filter_uses_an_index(million_tasks, name):
    plan = plan_of(million_tasks, TaskFilter(tenant_id=TENANTS[1], **FILTERS[name]))
    scans = [node for node in nodes(plan) if node.get("Relation Name") == "tasks" or "Index Name" in node]
    assert not any(node["Node Type"] == "Seq Scan" for node in scans), json.dumps(plan, indent=1)
    assert any(node.get("Index Name", "").startswith("ix_tasks_") for node in scans), json.dumps(plan, indent=1)
