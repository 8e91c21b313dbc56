"""The relay's settings, beside the shared ones (taskflow.settings)."""

from taskflow.settings import Settings


class RelaySettings(Settings):
    """The outbox relay's configuration; each field is read from the environment variable of its name."""

    outbox_batch_size: int = 100
    # The relay wakes on every commit that adds to the outbox; without one, it looks anyway this often.
    outbox_idle_wait_seconds: float = 2.0
    # Where the relay answers Prometheus' scrapes (on METRICS_HOST); unset: it does not listen.
    relay_metrics_port: int | None = None
    # The relay also sweeps for stuck tasks (relay/sweep.py) this often.
    recovery_interval_seconds: float = 30.0
    # Queued this long while the queue is empty: the message was lost, so the task is published again.
    orphan_after_seconds: float = 120.0

    # Completion webhooks: attempts per delivery, the wait after the first failed one (four times longer after each
    # next, at most an hour), and how long a receiver may take to answer.
    webhook_max_attempts: int = 8
    webhook_first_retry_seconds: float = 5.0
    webhook_timeout_seconds: float = 5.0
