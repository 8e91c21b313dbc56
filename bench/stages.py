"""Where a task's create -> succeeded time goes, stage by stage, from the timestamps the system keeps: the API's
create (committed), the relay's mark (published), SQS's first hand-out (received by the mapping, kept in the claim's
event), the claim, and the finish. The mapping deletes the message after the finish: outside this latency."""

import psycopg

from taskflow.db.engine import libpq_url

STAGES = ("committed -> published", "published -> received", "received -> claimed", "claimed -> finished")
QUERY = """
SELECT extract(epoch FROM o.published_at - t.created_at),
       extract(epoch FROM (e.detail->>'received_at')::timestamptz - o.published_at),
       extract(epoch FROM t.started_at - (e.detail->>'received_at')::timestamptz),
       extract(epoch FROM t.finished_at - t.started_at)
FROM tasks t
JOIN outbox o ON o.task_id = t.id AND o.published_at IS NOT NULL
JOIN task_events e ON e.task_id = t.id AND e.to_status = 'running' AND e.detail ? 'received_at'
WHERE t.id = ANY(%s::uuid[])
"""


def stage_seconds(database_url: str, task_ids: list[str]) -> dict[str, list[float]]:
    """Each stage's durations over the tasks (those run once, from their one published message)."""
    with psycopg.connect(libpq_url(database_url)) as connection:
        rows = connection.execute(QUERY, (task_ids,)).fetchall()
    return {stage: sorted(float(row[i]) for row in rows) for i, stage in enumerate(STAGES)}
