"""The relay's third job, between drains: fire the recurring schedules that are due (taskflow.services.schedules).

It looks in the database when a schedule it knows of is due, and at least every LOOK_EVERY_SECONDS for schedules
created or changed since; it tells the relay how soon to wake for the next one, so a one-second schedule fires on
time while the outbox is quiet.
"""

import logging
import time
from datetime import datetime

from sqlalchemy.orm import Session, sessionmaker

from relay import metrics
from relay.outbox_relay import TRANSIENT
from taskflow.clock import utc_now
from taskflow.services.schedules import fire_due_schedules

log = logging.getLogger("relay.scheduler")
LOOK_EVERY_SECONDS = 2.0


class Scheduler:
    """Fires due schedules; `run` returns the seconds until the next one is due (None: none known)."""

    def __init__(self, sessions: sessionmaker[Session]) -> None:
        self.sessions = sessions
        self.next_due_at: datetime | None = None
        self.looked_at = -LOOK_EVERY_SECONDS

    def run(self) -> float | None:
        """Fire what is due, if anything may be; a failure is logged, and looked at again soon."""
        due = self.next_due_at is not None and self.next_due_at <= utc_now()
        if due or time.monotonic() - self.looked_at >= LOOK_EVERY_SECONDS:
            self.looked_at = time.monotonic()
            try:
                with self.sessions() as session:
                    fired = fire_due_schedules(session=session)
            except TRANSIENT as error:
                log.warning("firing schedules failed; trying again soon", extra={"error": str(error)})
                return LOOK_EVERY_SECONDS
            if fired.created:
                log.info("scheduled tasks created", extra={"count": fired.created})
                metrics.scheduled.inc(fired.created)
            self.next_due_at = fired.next_due_at
        if self.next_due_at is None:
            return None
        return max(0.0, (self.next_due_at - utc_now()).total_seconds())
