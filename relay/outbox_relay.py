"""Publishing the outbox: drain it in batches, then sleep until PostgreSQL notifies a new row (or a short timeout
passes, in case a notification was missed). Any number of relays can run side by side: rows are claimed
FOR UPDATE SKIP LOCKED (taskflow.services.outbox)."""

import logging
import threading
import time
from collections.abc import Callable

import psycopg
from botocore.exceptions import BotoCoreError, ClientError
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import Retrying, before_sleep_log, retry_if_exception_type, stop_when_event_set, wait_exponential_jitter

from relay import metrics
from taskflow.db.listen import listening
from taskflow.db.login import DatabaseLogin
from taskflow.services.outbox import OUTBOX_CHANNEL, QueueSender, publish_pending_outbox

log = logging.getLogger("relay")
# The database or the queue is away for now: back off and try again.
TRANSIENT = (BotoCoreError, ClientError, OperationalError, psycopg.OperationalError)


class OutboxRelay:
    """Publishes the outbox through `sender` until stopped; `between_drains` (the sweep) runs after each drain."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        sender: QueueSender,
        login: DatabaseLogin,
        batch_size: int,
        idle_wait_seconds: float,
        between_drains: Callable[[], None] = lambda: None,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.login = login
        self.batch_size = batch_size
        self.idle_wait_seconds = idle_wait_seconds
        self.between_drains = between_drains
        self.stopping = threading.Event()

    def drain(self) -> int:
        """Publish until the outbox is empty; return how many messages were sent. Retries with backoff."""
        retrying = Retrying(
            retry=retry_if_exception_type(TRANSIENT),
            wait=wait_exponential_jitter(multiplier=0.2, max=10),
            stop=stop_when_event_set(self.stopping),  # a stopped relay gives up at once
            sleep=self.stopping.wait,
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        return retrying(self._drain_once)

    def _drain_once(self) -> int:
        sent_total = 0
        while not self.stopping.is_set():
            with self.sessions() as session:
                sent = publish_pending_outbox(session=session, sender=self.sender, limit=self.batch_size)
            sent_total += sent
            metrics.published.inc(sent)
            if sent == 0:
                break
        return sent_total

    def run(self) -> None:
        """Drain, wait for a notification, repeat, until stop() is called."""
        log.info("outbox relay started")
        for connection in listening(self.login, OUTBOX_CHANNEL, self.stopping):
            try:
                self._drain_until_stopped(connection)
            except TRANSIENT as error:
                if not self.stopping.is_set():
                    log.warning("lost the listening connection; reconnecting", extra={"error": str(error)})
        log.info("outbox relay stopped")

    def _drain_until_stopped(self, connection: psycopg.Connection) -> None:
        while not self.stopping.is_set():
            sent = self.drain()
            if sent:
                log.info("published outbox messages", extra={"count": sent})
            self.between_drains()
            self._wait_for_notification(connection)

    def _wait_for_notification(self, connection: psycopg.Connection) -> None:
        # Returns on the first NOTIFY; the idle timeout covers notifications sent while we were not listening.
        # Waits in short slices so that stop() is noticed promptly.
        deadline = time.monotonic() + self.idle_wait_seconds
        while not self.stopping.is_set() and (remaining := deadline - time.monotonic()) > 0:
            if list(connection.notifies(timeout=min(0.5, remaining), stop_after=1)):
                return

    def stop(self, *_: object) -> None:
        """Finish the current batch and exit."""
        self.stopping.set()
