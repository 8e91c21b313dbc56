"""The relay's third job, on a thread of its own: fire the recurring schedules that are due
(taskflow.services.schedules).

It wakes when the next schedule it knows of is due, and at least every LOOK_EVERY_SECONDS for schedules created or
changed since, so a one-second schedule fires on time whatever the outbox is doing: a backlog being drained must not
make occurrences late enough to count as missed.
"""

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from relay import metrics
from relay.outbox_relay import TRANSIENT
from taskflow.clock import utc_now
from taskflow.services.schedules import fire_due_schedules

log = logging.getLogger("relay.scheduler")
LOOK_EVERY_SECONDS = 2.0
# The shortest wait between two looks: a clock ahead of the database's must not make the loop spin.
SHORTEST_WAIT_SECONDS = 0.05


class Scheduler:
    """Fires due schedules until `stopping` is set."""

    def __init__(self, sessions: sessionmaker[Session], stopping: threading.Event) -> None:
        self.sessions = sessions
        self.stopping = stopping

    def run(self) -> None:
        """Fire, wait until the next one is due (or the next look), repeat, until stopped."""
        log.info("scheduler started")
        while not self.stopping.is_set():
            self.stopping.wait(self.fire())
        log.info("scheduler stopped")

    def fire(self) -> float:
        """Fire what is due; return the seconds to wait before looking again. Never raises: a failure is logged."""
        try:
            with self.sessions() as session:
                fired = fire_due_schedules(session=session)
        except TRANSIENT as error:
            log.warning("firing schedules failed; trying again soon", extra={"error": str(error)})
            return LOOK_EVERY_SECONDS
        except Exception:  # a bug must not end the relay's scheduling for good; it is logged, and tried again
            log.exception("firing schedules failed")
            return LOOK_EVERY_SECONDS
        if fired.created:
            log.info("scheduled tasks created", extra={"count": fired.created})
            metrics.scheduled.inc(fired.created)
        if fired.more_due:
            return 0.0
        if fired.next_due_at is None:
            return LOOK_EVERY_SECONDS
        until_due = (fired.next_due_at - utc_now()).total_seconds()
        return min(LOOK_EVERY_SECONDS, max(SHORTEST_WAIT_SECONDS, until_due))
