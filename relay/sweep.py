"""The relay's second job, between drains: put back on their way the tasks that got stuck.

In this order, every RECOVERY_INTERVAL_SECONDS: record the dead letters (a task whose message was dead-lettered
must not be republished as lost), recover the tasks whose consumer died (their lease ran out), and, only while the
queues hold nothing, republish the queued tasks whose message was lost. See taskflow.services.recovery.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.orm import Session, sessionmaker

from relay import metrics
from relay.dead_letter_queue import DeadLetterQueue
from relay.outbox_relay import TRANSIENT
from taskflow.db.models import Task
from taskflow.services.dead_letters import record_dead_letters
from taskflow.services.recovery import recover_expired_leases, republish_orphaned

log = logging.getLogger("relay.sweep")
# Dead letters recorded per sweep at most, so a flood of them cannot hold up the outbox.
MOST_DEAD_LETTERS = 1000


@dataclass
class Sweep:
    """When and how the relay sweeps for stuck tasks and dead letters."""

    sessions: sessionmaker[Session]
    orphan_after: timedelta
    queue_is_empty: Callable[[], bool]  # both task queues, the high-priority one too
    dead_letter_queues: list[DeadLetterQueue]
    interval_seconds: float
    next_run: float = 0.0

    def run_if_due(self) -> None:
        """Sweep if the interval has passed since the last sweep; a failure is logged and tried again later."""
        if time.monotonic() < self.next_run:
            return
        self.next_run = time.monotonic() + self.interval_seconds
        try:
            self.run()
        except TRANSIENT as error:
            log.warning("stuck-task sweep failed; trying again later", extra={"error": str(error)})
        except Exception:  # a bug in the sweep must not end the relay's outbox loop for every tenant
            log.exception("stuck-task sweep failed; trying again later")

    def run(self) -> None:
        """Record dead letters, recover tasks past their lease, republish lost messages if the queue is empty."""
        dead = self._record_dead_letters()
        with self.sessions() as session:
            leases = recover_expired_leases(session=session)
        orphaned = []
        if self.queue_is_empty():
            with self.sessions() as session:
                orphaned = republish_orphaned(session=session, queued_for=self.orphan_after)
        _report(dead, "dead_lettered", "marked a dead-lettered task failed")
        _report(leases.requeued, "requeued", "requeued a task running past its lease")
        _report(leases.failed, "gave_up", "failed a task whose last attempt ran past its lease")
        _report(orphaned, "republished", "republished a queued task whose message was lost")

    def _record_dead_letters(self) -> list[Task]:
        failed, most = [], MOST_DEAD_LETTERS
        for dead_letter_queue in self.dead_letter_queues:
            while most > 0 and (received := dead_letter_queue.receive(min(most, 100))):
                with self.sessions() as session:
                    failed += record_dead_letters(session, [r.letter for r in received])
                dead_letter_queue.delete(received)
                metrics.dead_letters.inc(len(received))
                most -= len(received)
        return failed


def _report(tasks: list[Task], action: str, message: str) -> None:
    for task in tasks:
        log.warning(message, extra={"task_id": str(task.id), "attempts": task.attempts})
        metrics.swept.labels(task.type, action).inc()
