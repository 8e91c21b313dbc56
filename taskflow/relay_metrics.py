"""The outbox relay's figures for Prometheus, served on RELAY_METRICS_PORT: messages published, and the stuck
tasks its sweep handled, by type and by what it did (dead-lettered, requeued after a lease, republished)."""

from prometheus_client import CollectorRegistry, Counter

REGISTRY = CollectorRegistry()
published = Counter("taskflow_outbox_published", "Outbox messages sent to the queue", registry=REGISTRY)
swept = Counter(
    "taskflow_tasks_swept",
    "Stuck tasks the relay's sweep handled, by type and action (dead_lettered, requeued, republished)",
    ["type", "action"],
    registry=REGISTRY,
)
