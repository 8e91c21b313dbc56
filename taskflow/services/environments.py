"""The consumer's execution environments, as each reports itself: an invocation starting and ending.

Two statements per invocation (a batch of up to ten records), none per task; both are single statements outside
any transaction. A new environment also deletes the rows of those gone for a day. The dashboard reads them to
show each environment's invocations, records, failures, and what it is doing now. The same in make dev (the
mapping's child processes), compose (the Lambda containers) and on AWS.
"""
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, text
from sqlalchemy.orm import Session

STARTED = text("""
INSERT INTO consumer_environments (id, invocations, current_batch, busy_since, busy_until)
VALUES (:id, 1, :records, now(), now() + make_interval(secs => :seconds))
ON CONFLICT (id) DO UPDATE SET invocations = consumer_environments.invocations + 1, current_batch = :records,
                               busy_since = now(), busy_until = now() + make_interval(secs => :seconds),
                               last_seen_at = now()
""")
ENDED = text("""
UPDATE consumer_environments SET records = records + :records, failed_records = failed_records + :failed,
                                 current_batch = 0, busy_since = NULL, busy_until = NULL, last_seen_at = now()
WHERE id = :id
""")
# Environments gone for a day (AWS replaces them often; every make dev starts new ones): the table holds about a day.
FORGET_GONE = text("DELETE FROM consumer_environments WHERE last_seen_at < now() - interval '1 day' AND id <> :id")
RECENT = text("""
SELECT id, started_at, last_seen_at, invocations, records, failed_records, current_batch, busy_since,
       CASE WHEN current_batch = 0 THEN 'idle' WHEN busy_until >= now() THEN 'busy' ELSE 'stopped' END
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
    state: str  # idle; busy; stopped: its batch outlived its deadline, the environment died without reporting


def invocation_started(connection: Connection, environment_id: str, records: int, seconds: float) -> None:
    """Record that the environment took a batch of `records`, which it may run for `seconds`."""
    connection.execute(STARTED, {"id": environment_id, "records": records, "seconds": seconds})


def forget_gone_environments(connection: Connection, environment_id: str) -> None:
    """Delete the rows of other environments not seen for a day (each new environment does, once)."""
    connection.execute(FORGET_GONE, {"id": environment_id})


def invocation_ended(connection: Connection, environment_id: str, records: int, failed: int) -> None:
    """Record that the environment's batch is done, `failed` of its records reported back to SQS."""
    connection.execute(ENDED, {"id": environment_id, "records": records, "failed": failed})


def recent_environments(session: Session, seconds: int = 900) -> list[Environment]:
    """The environments seen in the last `seconds`, oldest first."""
    return [Environment(*row) for row in session.execute(RECENT, {"seconds": seconds})]
