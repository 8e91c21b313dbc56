"""The event source mapping's figures for Prometheus, on ESM_METRICS_PORT: invocations, batch sizes and
durations, which it measures itself, and tasks processed by type and outcome, which the function reports in
CloudWatch's Embedded Metric Format (on AWS, CloudWatch reads those lines from the function's log; here the
mapping reads them from its execution environments)."""

from prometheus_client import CollectorRegistry, Counter, Histogram, start_http_server

BATCH_BUCKETS = (1, 2, 5, 10, 25, 50, 100, 250, 1000, 10_000)
RETRY_DELAY_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900)
DURATION_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900)


class ConsumerMetrics:
    """One registry per mapping."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.invocations = Counter(
            "taskflow_consumer_invocations", "Function invocations, by result", ["result"], registry=self.registry
        )
        self.batch_size = Histogram(
            "taskflow_consumer_batch_size", "Messages per invocation", buckets=BATCH_BUCKETS, registry=self.registry
        )
        self.duration = Histogram(
            "taskflow_consumer_invocation_duration_seconds",
            "Time an invocation took, end to end",
            buckets=DURATION_BUCKETS,
            registry=self.registry,
        )
        self.messages = Counter(
            "taskflow_consumer_messages",
            "Messages after an invocation: deleted (processed) or returned to the queue (reported failed)",
            ["result"],
            registry=self.registry,
        )
        self.tasks_processed = Counter(
            "taskflow_tasks_processed",
            "Tasks processed, by type and outcome",
            ["type", "outcome"],
            registry=self.registry,
        )
        self.messages_refused = Counter(
            "taskflow_messages_refused",
            "Messages the function refused and left for a later delivery, by reason (TaskBusy: another consumer runs"
            " the task; NotEnoughTime: the invocation had no time left for it; MalformedMessage)",
            ["reason"],
            registry=self.registry,
        )
        self.retry_delay = Histogram(
            "taskflow_retry_delay_seconds",
            "Backoff before a task's next attempt, by task type",
            ["type"],
            buckets=RETRY_DELAY_BUCKETS,
            registry=self.registry,
        )

    def invoked(self, messages: int, seconds: float, failed: bool) -> None:
        """Record one invocation."""
        self.invocations.labels("failed" if failed else "ok").inc()
        self.batch_size.observe(messages)
        self.duration.observe(seconds)

    def record_emf(self, document: dict) -> None:
        """Count the TasksProcessed and MessagesRefused figures, and observe the RetryDelay ones, of one EMF
        document."""
        for directive in document.get("_aws", {}).get("CloudWatchMetrics", []):
            names = {metric["Name"] for metric in directive["Metrics"]}
            task_type = document.get("type", "unknown")
            if "TasksProcessed" in names:
                self.tasks_processed.labels(task_type, document.get("outcome", "unknown")).inc(
                    sum(values_of(document["TasksProcessed"]))
                )
            if "MessagesRefused" in names:
                self.messages_refused.labels(document.get("reason", "unknown")).inc(
                    sum(values_of(document["MessagesRefused"]))
                )
            if "RetryDelay" in names:
                for delay in values_of(document["RetryDelay"]):
                    self.retry_delay.labels(task_type).observe(delay)

    def serve(self, port: int, host: str = "127.0.0.1") -> None:
        """Answer Prometheus' scrapes on `host`:`port`, in a background thread."""
        start_http_server(port, addr=host, registry=self.registry)


def values_of(figure: float | list[float]) -> list[float]:
    """EMF gives one value, or a list of them."""
    return figure if isinstance(figure, list) else [figure]
