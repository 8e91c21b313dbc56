"""The relay's fourth job, on a thread of its own: delete the rows whose retention has ended
(taskflow.services.retention), a batch per transaction, so the outbox loop never waits for it.

With several relays running, one prunes at a time (an advisory lock, held by the pruning connection: a relay that
dies lets it go with its connection).
"""

import logging
import threading
from datetime import timedelta

from sqlalchemy import Engine, text

from relay import metrics
from relay.outbox_relay import TRANSIENT
from taskflow.clock import utc_now
from taskflow.services.retention import KINDS, PRUNING_LOCK, prune_batches

log = logging.getLogger("relay.pruner")


class Pruner:
    """Prunes every `interval_seconds` until `stopping` is set."""

    def __init__(self, engine: Engine, stopping: threading.Event, retention: dict[str, timedelta | None],
                 batch_size: int, interval_seconds: float) -> None:  # fmt: skip
        self.engine = engine
        self.stopping = stopping
        self.retention = retention
        self.batch_size = batch_size
        self.interval_seconds = interval_seconds

    def run(self) -> None:
        """Prune, wait for the interval, repeat, until stopped."""
        while not self.stopping.wait(self.interval_seconds):
            try:
                self.prune()
            except TRANSIENT as error:
                log.warning("pruning failed; trying again later", extra={"error": str(error)})
            except Exception:  # a bug must not end the relay's pruning for good; it is logged, and tried again
                log.exception("pruning failed; trying again later")

    def prune(self) -> dict[str, int] | None:
        """Delete every kind's rows past its retention; return the rows deleted by kind (None: another relay is
        pruning). Stops between two batches when the relay stops."""
        with self.engine.connect() as connection:
            if not connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": PRUNING_LOCK}):
                return None
            connection.commit()
            try:
                return self._prune_each_kind(connection)
            finally:
                connection.rollback()
                connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": PRUNING_LOCK})
                connection.commit()

    def _prune_each_kind(self, connection) -> dict[str, int]:
        deleted = {}
        for kind, keep in self.retention.items():
            if keep is None or self.stopping.is_set():
                continue
            deleted[kind] = 0
            for count in prune_batches(connection, KINDS[kind], utc_now() - keep, self.batch_size):
                deleted[kind] += count
                metrics.pruned.labels(kind).inc(count)
                if self.stopping.is_set():
                    break
        if any(deleted.values()):
            log.info("pruned rows past their retention", extra={"deleted": deleted})
        return deleted
