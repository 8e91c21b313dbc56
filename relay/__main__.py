"""Run the outbox relay: python -m relay. Wiring only."""

import threading
from datetime import timedelta

from prometheus_client import start_http_server

from relay import metrics
from relay.dead_letter_queue import DeadLetterQueue
from relay.outbox_relay import OutboxRelay
from relay.pruner import Pruner
from relay.scheduler import Scheduler
from relay.settings import RelaySettings
from relay.sqs_sender import SqsSender
from relay.sweep import Sweep
from relay.webhooks import WebhookSender
from taskflow.db.engine import make_engine, make_session_factory
from taskflow.db.listen import CONNECT_TIMEOUT_SECONDS
from taskflow.db.login import login_from
from taskflow.lifetime import stop_on_signals
from taskflow.logs import configure_logging
from taskflow.sqs import dead_letter_queue_url, make_sqs_client, queue_counts, queue_url


def main() -> None:
    settings = RelaySettings()
    configure_logging("outbox-relay", settings.log_level)
    login = login_from(settings)
    # One connection for the drains and the sweep, one each for the scheduler's, the webhooks' and the pruner's
    # threads, one spare.
    engine = make_engine(settings.database_url, pool_size=5, connect_timeout=CONNECT_TIMEOUT_SECONDS, login=login)
    sessions = make_session_factory(engine)
    client = make_sqs_client(settings)
    urls = [queue_url(client, name) for name in (settings.queue_name, settings.high_priority_queue_name)]
    sweep = Sweep(
        sessions=sessions,
        orphan_after=timedelta(seconds=settings.orphan_after_seconds),
        queue_is_empty=lambda: all(queue_counts(client, url).nothing_to_deliver for url in urls),
        dead_letter_queues=[DeadLetterQueue(client, dead_letter_queue_url(client, url)) for url in urls],
        interval_seconds=settings.recovery_interval_seconds,
    )
    relay = OutboxRelay(
        sessions=sessions,
        sender=SqsSender(client, *urls),
        login=login,
        batch_size=settings.outbox_batch_size,
        idle_wait_seconds=settings.outbox_idle_wait_seconds,
        between_drains=sweep.run_if_due,
    )
    if settings.relay_metrics_port:
        start_http_server(settings.relay_metrics_port, addr=settings.metrics_host, registry=metrics.REGISTRY)
    stop_on_signals(relay.stop)
    webhooks = WebhookSender(
        sessions,
        relay.stopping,
        allow_loopback=settings.webhooks_allow_http_loopback,
        timeout_seconds=settings.webhook_timeout_seconds,
        max_attempts=settings.webhook_max_attempts,
        first_retry=timedelta(seconds=settings.webhook_first_retry_seconds),
    )
    pruner = Pruner(engine, relay.stopping, settings.retention, settings.prune_batch_size,
                    settings.prune_interval_seconds)  # fmt: skip
    threads = [threading.Thread(target=Scheduler(sessions, relay.stopping).run, name="scheduler"),
               threading.Thread(target=webhooks.run, name="webhooks"),
               threading.Thread(target=pruner.run, name="pruner")]  # fmt: skip
    for thread in threads:
        thread.start()
    relay.run()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
