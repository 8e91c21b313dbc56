"""Where a task's create -> succeeded time goes, stage by stage, from the timestamps the system keeps: the API's
create (committed), the relay's mark (published), SQS's first hand-out (received by the mapping, kept in the claim's
event), the claim, and the finish. The mapping deletes the message after the finish: outside this latency. The
stages are the dashboard's (taskflow.services.stats), measured over the bench's tasks."""

import psycopg

from taskflow.db.engine import libpq_url
from taskflow.services.stats import STAGE_TIMES, STAGES

# Each stage's duration, for the tasks that went through every stage.
QUERY = "SELECT {spans} FROM ({times} WHERE t.id = ANY(%s::uuid[])) times WHERE {complete}".format(
    spans=", ".join(f"extract(epoch FROM {span})" for span in STAGES.values()),
    times=STAGE_TIMES,
    complete=" AND ".join(f"{span} IS NOT NULL" for span in STAGES.values()),
)


def stage_seconds(database_url: str, task_ids: list[str]) -> dict[str, list[float]]:
    """Each stage's durations over the tasks, named as bench prints them ("committed -> published")."""
    with psycopg.connect(libpq_url(database_url)) as connection:
        rows = connection.execute(QUERY, (task_ids,)).fetchall()
    return {name.replace("_to_", " -> "): sorted(float(row[i]) for row in rows) for i, name in enumerate(STAGES)}
