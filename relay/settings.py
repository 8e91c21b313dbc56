"""The relay's settings, beside the shared ones (taskflow.settings)."""

from datetime import timedelta

from pydantic import Field, field_validator

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

    # Retention (taskflow.services.retention): how long each kind of row is kept, as an ISO 8601 duration (P30D,
    # PT12H); "forever" keeps it. The relay prunes every PRUNE_INTERVAL_SECONDS, PRUNE_BATCH_SIZE rows
    # per transaction.
    retain_published_outbox: timedelta | None = timedelta(days=1)
    retain_finished_tasks: timedelta | None = timedelta(days=30)
    retain_idempotency_keys: timedelta | None = timedelta(days=1)
    retain_dead_letters: timedelta | None = timedelta(days=30)
    retain_webhook_deliveries: timedelta | None = timedelta(days=7)
    prune_interval_seconds: float = Field(default=60.0, gt=0)
    prune_batch_size: int = Field(default=1000, ge=1, le=100_000)

    @field_validator("retain_published_outbox", "retain_finished_tasks", "retain_idempotency_keys",
                     "retain_dead_letters", "retain_webhook_deliveries", mode="before")  # fmt: skip
    @classmethod
    def _forever_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and value.strip().lower() == "forever" else value

    @field_validator("retain_published_outbox", "retain_finished_tasks", "retain_idempotency_keys",
                     "retain_dead_letters", "retain_webhook_deliveries")  # fmt: skip
    @classmethod
    def _positive(cls, value: timedelta | None) -> timedelta | None:
        # A retention of zero or less would prune what was written a moment ago, or in the future: refused.
        if value is not None and value <= timedelta(0):
            raise ValueError("a retention must be longer than zero (or \"forever\")")
        return value

    @property
    def retention(self) -> dict[str, timedelta | None]:
        """How long each kind of row is kept (None: forever), in the order the relay prunes them."""
        return {"published_outbox": self.retain_published_outbox, "idempotency_keys": self.retain_idempotency_keys,
                "dead_letters": self.retain_dead_letters, "webhook_deliveries": self.retain_webhook_deliveries,
                "finished_tasks": self.retain_finished_tasks}  # fmt: skip
