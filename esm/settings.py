"""The local event source mapping's settings, named after the AWS EventSourceMapping properties."""

from taskflow.settings import Settings


class MappingSettings(Settings):
    """The mapping's configuration; each field is read from the environment variable of its name."""

    esm_batch_size: int = 10
    esm_maximum_batching_window_in_seconds: float = 0
    esm_maximum_concurrency: int = 2  # ScalingConfig.MaximumConcurrency: AWS allows 2 to 1000
    # The high-priority queue's own mapping (taskflow.domain.priority): its environments serve nothing else, so a
    # backlog in the task queue never holds up a high-priority task. AWS allows 2 to 1000 here too.
    esm_high_priority_maximum_concurrency: int = 2
    esm_function_response_types: list[str] = ["ReportBatchItemFailures"]
    esm_function_handler: str = "handler.lambda_handler"
    # Lambda containers to invoke over HTTP (compose: the emulator of each `lambda` container), one execution
    # environment each: the task queue's mapping takes the first MaximumConcurrency of them, the high-priority
    # queue's the next ones. Empty: environments are child processes here.
    esm_function_urls: list[str] = []
    # Where the mapping answers Prometheus' scrapes (its /metrics, on METRICS_HOST); unset: it does not listen.
    esm_metrics_port: int | None = None

