"""The outbox relay process: sends unpublished outbox rows to SQS as soon as they are committed.

It drains the outbox in batches, then sleeps until PostgreSQL notifies it of a new row (or a short
timeout passes, in case a notification was missed). Any number of relays can run side by side.

    python -m taskflow.relay
"""

import logging
import signal
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
from tenacity import before_sleep_log, retry, retry_if_exception_type, wait_exponential_jitter

from taskflow import relay_metrics
from taskflow.db.engine import libpq_url, make_engine, make_session_factory
from taskflow.dead_letter_queue import DeadLetterQueue
from taskflow.logs import configure_logging
from taskflow.services.outbox import OUTBOX_CHANNEL, QueueSender, publish_pending_outbox
from taskflow.services.recovery import fail_dead_lettered, republish_orphaned, requeue_expired_leases
from taskflow.settings import get_settings
from taskflow.sqs import SqsSender, make_sqs_client, queue_url

log = logging.getLogger("taskflow.relay")
TRANSIENT = (BotoCoreError, ClientError, OperationalError, psycopg.OperationalError)


class OutboxRelay:
    """Publishes the outbox through `sender` until stopped."""

    def __init__(
        self,
        *,
        sessions: sessionmaker[Session],
        sender: QueueSender,
        database_url: str,
        batch_size: int,
        idle_wait_seconds: float,
        recovery: "Recovery | None" = None,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.database_url = database_url
        self.batch_size = batch_size
        self.idle_wait_seconds = idle_wait_seconds
        self.recovery = recovery
        self.stopping = threading.Event()

    @retry(
        retry=retry_if_exception_type(TRANSIENT),
        wait=wait_exponential_jitter(multiplier=0.2, max=10),
        before_sleep=before_sleep_log(log, logging.WARNING),
    )
    def drain(self) -> int:
        """Publish until the outbox is empty; return how many messages were sent. Retries with backoff."""
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
            except psycopg.OperationalError as error:
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

    @retry(retry=retry_if_exception_type(psycopg.OperationalError), wait=wait_exponential_jitter(multiplier=0.2, max=5))
    def _listen(self) -> psycopg.Connection:
        connection = psycopg.connect(libpq_url(self.database_url), autocommit=True)
        connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        return connection

    def stop(self, *_: object) -> None:
        """Finish the current batch and exit."""
        self.stopping.set()


@dataclass
class Recovery:
    """When and how the relay sweeps for stuck tasks (see taskflow.services.recovery)."""

    lease: timedelta
    orphan_after: timedelta
    queue_is_drained: Callable[[], bool]
    dead_lettered: Callable[[], set]
    dead_letter_grace: timedelta
    interval_seconds: float
    next_run: float = 0.0

    def run_if_due(self, sessions: sessionmaker[Session]) -> None:
        """Fail dead-lettered tasks, requeue tasks past their lease, republish old queued tasks if the queue is empty.

        Dead letters come first: a task whose message was dead-lettered must not be republished as lost.
        """
        if time.monotonic() < self.next_run:
            return
        self.next_run = time.monotonic() + self.interval_seconds
        try:
            with sessions() as session:
                dead = fail_dead_lettered(
                    session=session, task_ids=self.dead_lettered(), untouched_for=self.dead_letter_grace
                )
            with sessions() as session:
                expired = requeue_expired_leases(session=session, lease=self.lease)
            orphaned = []
            if self.queue_is_drained():
                with sessions() as session:
                    orphaned = republish_orphaned(session=session, queued_for=self.orphan_after)
        except TRANSIENT as error:
            log.warning("stuck-task sweep failed; trying again later", extra={"error": str(error)})
            return
        for tasks, action, message in (
            (dead, "dead_lettered", "marked a dead-lettered task failed"),
            (expired, "requeued", "requeued a task running past its lease"),
            (orphaned, "republished", "republished a queued task whose message was lost"),
        ):
            for task in tasks:
                log.warning(message, extra={"task_id": str(task.id)})
                relay_metrics.swept.labels(task.type, action).inc()


def main() -> None:
    settings = get_settings()
    configure_logging("outbox-relay", settings.log_level)
    client = make_sqs_client(settings)
    sender = SqsSender(client, queue_url(client, settings.queue_name))
    recovery = Recovery(
        lease=timedelta(seconds=settings.function_timeout_seconds + settings.claim_lease_margin_seconds),
        orphan_after=timedelta(seconds=settings.orphan_after_seconds),
        queue_is_drained=sender.is_drained,
        dead_lettered=DeadLetterQueue(client, queue_url(client, f"{settings.queue_name}-dlq"), sender.url).task_ids,
        dead_letter_grace=timedelta(seconds=settings.dead_letter_grace_seconds),
        interval_seconds=settings.recovery_interval_seconds,
    )
    relay = OutboxRelay(
        sessions=make_session_factory(make_engine(settings.database_url, pool_size=2)),
        sender=sender,
        database_url=settings.database_url,
        batch_size=settings.outbox_batch_size,
        idle_wait_seconds=settings.outbox_idle_wait_seconds,
        recovery=recovery,
    )
    if settings.relay_metrics_port:
        start_http_server(settings.relay_metrics_port, registry=relay_metrics.REGISTRY)
    signal.signal(signal.SIGTERM, relay.stop)
    signal.signal(signal.SIGINT, relay.stop)
    log.info("relaying to queue", extra={"queue": settings.queue_name})
    relay.run()


if __name__ == "__main__":
    main()
