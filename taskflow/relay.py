"""The outbox relay process: sends unpublished outbox rows to SQS as soon as they are committed.

It drains the outbox in batches, then sleeps until PostgreSQL notifies it of a new row (or a short
timeout passes, in case a notification was missed). Any number of relays can run side by side.

    python -m taskflow.relay
"""

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import psycopg
from botocore.exceptions import BotoCoreError, ClientError
from prometheus_client import start_http_server
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from tenacity import Retrying, before_sleep_log, retry_if_exception_type, stop_when_event_set, wait_exponential_jitter

from taskflow import relay_metrics
from taskflow.db.engine import make_engine, make_session_factory
from taskflow.db.login import DatabaseLogin, process_login
from taskflow.dead_letter_queue import DeadLetterQueue
from taskflow.lifetime import stop_on_signals
from taskflow.logs import configure_logging
from taskflow.services.dead_letters import record_dead_letters
from taskflow.services.outbox import OUTBOX_CHANNEL, QueueSender, publish_pending_outbox
from taskflow.services.recovery import recover_expired_leases, republish_orphaned
from taskflow.settings import get_settings
from taskflow.sqs import SqsSender, make_sqs_client, queue_url

log = logging.getLogger("taskflow.relay")
TRANSIENT = (BotoCoreError, ClientError, OperationalError, psycopg.OperationalError)
# An unreachable database must not hold a connect (and so the relay's stop) for long.
CONNECT_TIMEOUT = 3


class OutboxRelay:
    """Publishes the outbox through `sender` until stopped."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        sender: QueueSender,
        login: DatabaseLogin,
        batch_size: int,
        idle_wait_seconds: float,
        recovery: "Recovery | None" = None,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.login = login
        self.batch_size = batch_size
        self.idle_wait_seconds = idle_wait_seconds
        self.recovery = recovery
        self.stopping = threading.Event()

    def _retrying(self, wait_at_most: float, **options) -> Retrying:
        # Backs off while the database or the queue is down, and gives up at once when the relay is stopped.
        return Retrying(
            retry=retry_if_exception_type(TRANSIENT),
            wait=wait_exponential_jitter(multiplier=0.2, max=wait_at_most),
            stop=stop_when_event_set(self.stopping),
            sleep=self.stopping.wait,
            reraise=True,
            **options,
        )

    def drain(self) -> int:
        """Publish until the outbox is empty; return how many messages were sent. Retries with backoff."""
        before_sleep = before_sleep_log(log, logging.WARNING)
        return self._retrying(10, before_sleep=before_sleep)(self._drain_once)

    def _drain_once(self) -> int:
        sent_total = 0
        while not self.stopping.is_set():
            with self.sessions() as session:
                sent = publish_pending_outbox(session=session, sender=self.sender, limit=self.batch_size)
            sent_total += sent
            relay_metrics.published.inc(sent)
            if sent == 0:
                break
        return sent_total

    def run(self) -> None:
        """Drain, wait for a notification, repeat, until stop() is called."""
        log.info("outbox relay started")
        while not self.stopping.is_set():
            try:
                with self._listen() as connection:
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
            if self.recovery is not None:
                self.recovery.run_if_due(self.sessions)
            self._wait_for_notification(connection)

    def _wait_for_notification(self, connection: psycopg.Connection) -> None:
        # Returns on the first NOTIFY; the idle timeout covers notifications sent while we were not listening.
        # Waits in short slices so that stop() is noticed promptly.
        deadline = time.monotonic() + self.idle_wait_seconds
        while not self.stopping.is_set() and (remaining := deadline - time.monotonic()) > 0:
            if list(connection.notifies(timeout=min(0.5, remaining), stop_after=1)):
                return

    def _listen(self) -> psycopg.Connection:
        return self._retrying(5, before_sleep=before_sleep_log(log, logging.WARNING))(self._connect_and_listen)

    def _connect_and_listen(self) -> psycopg.Connection:
        connection = self.login.connect(autocommit=True, connect_timeout=CONNECT_TIMEOUT)
        connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        return connection

    def stop(self, *_: object) -> None:
        """Finish the current batch and exit."""
        self.stopping.set()


@dataclass
class Recovery:
    """When and how the relay sweeps for stuck tasks and dead letters (see taskflow.services.recovery)."""

    orphan_after: timedelta
    queue_is_drained: Callable[[], bool]
    dead_letter_queue: DeadLetterQueue
    interval_seconds: float
    next_run: float = 0.0

    def run_if_due(self, sessions: sessionmaker[Session]) -> None:
        """Record dead letters, recover tasks past their lease, republish old queued tasks if the queue is empty.

        Dead letters come first: a task whose message was dead-lettered must not be republished as lost.
        """
        if time.monotonic() < self.next_run:
            return
        self.next_run = time.monotonic() + self.interval_seconds
        try:
            dead = self._record_dead_letters(sessions)
            with sessions() as session:
                leases = recover_expired_leases(session=session)
            orphaned = []
            if self.queue_is_drained():
                with sessions() as session:
                    orphaned = republish_orphaned(session=session, queued_for=self.orphan_after)
        except TRANSIENT as error:
            log.warning("stuck-task sweep failed; trying again later", extra={"error": str(error)})
            return
        for tasks, action, message in (
            (dead, "dead_lettered", "marked a dead-lettered task failed"),
            (leases.requeued, "requeued", "requeued a task running past its lease"),
            (leases.failed, "gave_up", "failed a task whose last attempt ran past its lease"),
            (orphaned, "republished", "republished a queued task whose message was lost"),
        ):
            for task in tasks:
                log.warning(message, extra={"task_id": str(task.id), "attempts": task.attempts})
                relay_metrics.swept.labels(task.type, action).inc()

    def _record_dead_letters(self, sessions: sessionmaker[Session], most: int = 1000) -> list:
        failed = []
        while most > 0 and (received := self.dead_letter_queue.receive(min(most, 100))):
            with sessions() as session:
                failed += record_dead_letters(session, [r.letter for r in received])
            self.dead_letter_queue.delete(received)
            relay_metrics.dead_letters.inc(len(received))
            most -= len(received)
        return failed


def main() -> None:
    settings = get_settings()
    configure_logging("outbox-relay", settings.log_level)
    client = make_sqs_client(settings)
    sender = SqsSender(client, queue_url(client, settings.queue_name))
    recovery = Recovery(
        orphan_after=timedelta(seconds=settings.orphan_after_seconds),
        queue_is_drained=sender.is_drained,
        dead_letter_queue=DeadLetterQueue(client, queue_url(client, f"{settings.queue_name}-dlq")),
        interval_seconds=settings.recovery_interval_seconds,
    )
    relay = OutboxRelay(
        sessions=make_session_factory(
            make_engine(settings.database_url, pool_size=2, connect_timeout=CONNECT_TIMEOUT, login=process_login())
        ),
        sender=sender,
        login=process_login(),
        batch_size=settings.outbox_batch_size,
        idle_wait_seconds=settings.outbox_idle_wait_seconds,
        recovery=recovery,
    )
    if settings.relay_metrics_port:
        start_http_server(settings.relay_metrics_port, addr=settings.metrics_host, registry=relay_metrics.REGISTRY)
    stop_on_signals(relay.stop)
    log.info("relaying to queue", extra={"queue": settings.queue_name})
    relay.run()


if __name__ == "__main__":
    main()
