"""The outbox relay's figures for Prometheus, served on RELAY_METRICS_PORT: messages published, dead letters
recorded, the stuck tasks its sweep handled, by type and by what it did (failed as dead-lettered, requeued after a
lease, failed on their last attempt, republished), the tasks it created for recurring schedules, and the rows it
pruned, by kind."""

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry()
published = Counter("taskflow_outbox_published", "Outbox messages sent to the queue", registry=REGISTRY)
swept = Counter(
    "taskflow_tasks_swept",
    "Stuck tasks the relay's sweep handled, by type and action (dead_lettered, requeued, gave_up, republished)",
    ["type", "action"],
    registry=REGISTRY,
)
dead_letters = Counter(
    "taskflow_dead_letters_recorded", "Messages moved from the dead-letter queue into the database", registry=REGISTRY
)
scheduled = Counter(
    "taskflow_scheduled_tasks_created", "Tasks the relay created for the occurrences of recurring schedules",
    registry=REGISTRY,
)
webhooks = Counter(
    "taskflow_webhook_attempts",
    "Completion webhook attempts, by outcome (delivered, retrying, failed: the last attempt failed)",
    ["outcome"],
    registry=REGISTRY,
)
pruned = Counter(
    "taskflow_rows_pruned",
    "Rows the relay deleted as their retention ended, by kind (published_outbox, finished_tasks, idempotency_keys, "
    "dead_letters, webhook_deliveries); a finished task's events go with it",
    ["kind"],
    registry=REGISTRY,
)
