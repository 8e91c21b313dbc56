"""The consumer's execution environments, as each reports itself: an invocation starting and ending.

Two statements per invocation (a batch of up to ten records), none per task; both are single statements outside
any transaction. The dashboard reads them to show each environment's invocations, records, failures, and what it
is doing now. The same in make dev (the mapping's child processes), compose (the Lambda containers) and on AWS.
"""

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

STARTED = text("""
INSERT INTO consumer_environments (id, invocations, current_batch, busy_since) VALUES (:id, 1, :records, now())
ON CONFLICT (id) DO UPDATE SET invocations = consumer_environments.invocations + 1, current_batch = :records,
                               busy_since = now(), last_seen_at = now()
""")
ENDED = text("""
UPDATE consumer_environments SET records = records + :records, failed_records = failed_records + :failed,
                                 current_batch = 0, busy_since = NULL, last_seen_at = now()
WHERE id = :id
""")
RECENT = text("""
SELECT id, started_at, last_seen_at, invocations, records, failed_records, current_batch, busy_since
FROM consumer_environments WHERE last_seen_at >= now() - make_interval(secs => :seconds)
ORDER BY started_at, id
""")


@dataclass(frozen=True)
class Environment:
    """One execution environment: since when it runs, when it was last seen, what it has done, what it does now."""

    id: str
    started_at: datetime
    last_seen_at: datetime
    invocations: int
    records: int
    failed_records: int
    current_batch: int  # records of the invocation running now; 0: idle
    busy_since: datetime | None


def invocation_started(connection: Connection, environment_id: str, records: int) -> None:
    """Record that the environment took a batch of `records`."""
    connection.execute(STARTED, {"id": environment_id, "records": records})


def invocation_ended(connection: Connection, environment_id: str, records: int, failed: int) -> None:
    """Record that the environment's batch is done, `failed` of its records reported back to SQS."""
    connection.execute(ENDED, {"id": environment_id, "records": records, "failed": failed})


def recent_environments(session: Session, seconds: int = 900) -> list[Environment]:
    """The environments seen in the last `seconds`, oldest first."""
    return [Environment(*row) for row in session.execute(RECENT, {"seconds": seconds})]
