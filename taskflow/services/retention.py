"""Retention: delete what the system no longer needs, a small batch at a time, so months of operation cost the
database what days do.

Each kind of row is walked in the order of an index whose key grows with its age (a keyset walk: each batch starts
where the last one ended, so it never steps over the rows it deleted before vacuum has removed them), and a batch
deletes those of its rows the kind's rule lets go, in a statement and a transaction of its own: no lock is held
longer than one batch. The walk stops at the first row younger than the cutoff.

- published outbox rows: once published, a row is only a record of the send.
- finished tasks, with their events, outbox rows and webhook deliveries (ON DELETE CASCADE): unless a dead letter
  still names the task (it can be redriven), a webhook delivery of it is still pending, or a waiting task still
  names it in `after`. A task made by a schedule goes too; its schedule never fires that occurrence again.
- idempotency keys: a repeat of the request after that creates a new task (the API promises a day at least).
- dead letters: a letter that goes can no longer be redriven.
- settled webhook deliveries (delivered or failed); pending ones are still being sent.
"""

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

from taskflow.domain.states import FINISHED

_FINISHED = ", ".join(f"'{status}'" for status in sorted(FINISHED))
_OLDEST = datetime.min.replace(tzinfo=UTC)
# Held (pg_try_advisory_lock) by the relay pruning now: with several relays, one prunes at a time.
PRUNING_LOCK = 0x7461736B_70727565  # "taskprue"


@dataclass(frozen=True)
class Kind:
    """One kind of row: how to walk it oldest first, and how to delete a batch of it."""

    name: str
    # Selects the next :limit rows after the keys :k0, :k1 (each batch's last row), oldest first: the key columns
    # as k0 (and k1), and `age`, the time the cutoff is compared with.
    walk: str
    # Deletes the walked rows (:keys0, :keys1) the rule lets go, re-checked under the row's lock.
    delete: str
    first_key: tuple


KINDS = {
    "published_outbox": Kind(
        "published_outbox",
        "SELECT id AS k0, created_at AS age FROM outbox WHERE id > :k0 ORDER BY id LIMIT :limit",
        "DELETE FROM outbox WHERE id = ANY(:keys0) AND published_at < :cutoff",
        (0,),
    ),
    "finished_tasks": Kind(
        "finished_tasks",
        "SELECT finished_at AS k0, id AS k1, finished_at AS age FROM tasks"
        " WHERE finished_at IS NOT NULL AND (finished_at, id) > (:k0, :k1) ORDER BY finished_at, id LIMIT :limit",
        f"DELETE FROM tasks t WHERE t.id = ANY(:keys1) AND t.status IN ({_FINISHED}) AND t.finished_at < :cutoff"
        " AND NOT EXISTS (SELECT FROM dead_letters d WHERE d.task_id = t.id)"
        " AND NOT EXISTS (SELECT FROM webhook_deliveries w WHERE w.task_id = t.id AND w.status = 'pending')"
        " AND NOT EXISTS (SELECT FROM tasks w WHERE w.status = 'waiting' AND w.after_ids @> ARRAY[t.id])",
        (_OLDEST, uuid.UUID(int=0)),
    ),
    "idempotency_keys": Kind(
        "idempotency_keys",
        # Keyed on the time alone: every key older than the cutoff goes, so a batch never ends among kept rows of
        # one instant, and a deleted row a later walk meets again is no longer visible.
        "SELECT created_at AS k0, tenant_id AS k1, key AS k2, created_at AS age FROM idempotency_keys"
        " WHERE created_at >= :k0 ORDER BY created_at LIMIT :limit",
        "DELETE FROM idempotency_keys WHERE (tenant_id, key) IN"
        " (SELECT * FROM unnest(CAST(:keys1 AS uuid[]), CAST(:keys2 AS text[]))) AND created_at < :cutoff",
        (_OLDEST,),
    ),
    "dead_letters": Kind(
        "dead_letters",
        "SELECT id AS k0, recorded_at AS age FROM dead_letters WHERE id > :k0 ORDER BY id LIMIT :limit",
        "DELETE FROM dead_letters WHERE id = ANY(:keys0) AND recorded_at < :cutoff",
        (0,),
    ),
    "webhook_deliveries": Kind(
        "webhook_deliveries",
        # Only settled deliveries are in this index, so pending ones never hold the walk up.
        "SELECT created_at AS k0, id AS k1, created_at AS age FROM webhook_deliveries"
        " WHERE status <> 'pending' AND created_at >= :k0 ORDER BY created_at LIMIT :limit",
        "DELETE FROM webhook_deliveries WHERE id = ANY(:keys1) AND status <> 'pending' AND created_at < :cutoff",
        (_OLDEST,),
    ),
}


def prune_batches(connection: Connection, kind: Kind, cutoff: datetime, batch_size: int) -> Iterator[int]:
    """Walk `kind` oldest first and delete what its rule lets go, a batch per transaction; yield each batch's
    deletions (the batch is committed by then)."""
    key = kind.first_key
    while True:
        rows = _walk(connection, kind, key, batch_size)
        old = [row for row in rows if row.age < cutoff]
        deleted = _delete(connection, kind, old, cutoff) if old else 0
        connection.commit()
        yield deleted
        if len(old) < batch_size:  # the walk met a row younger than the cutoff, or the end
            return
        key = tuple(getattr(rows[-1], f"k{i}") for i in range(len(kind.first_key)))


def _walk(connection: Connection, kind: Kind, key: tuple, limit: int) -> list:
    return connection.execute(text(kind.walk), {f"k{i}": value for i, value in enumerate(key)} | {"limit": limit}).all()


def _delete(connection: Connection, kind: Kind, rows: list, cutoff: datetime) -> int:
    columns = {f"keys{i}": [getattr(row, f"k{i}") for row in rows] for i in range(len(rows[0]) - 1)}
    return connection.execute(text(kind.delete), columns | {"cutoff": cutoff}).rowcount
