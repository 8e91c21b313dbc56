"""The limits AWS applies when an SQS event source mapping is created, applied here the same way.

Names follow the EventSourceMapping properties (BatchSize, MaximumBatchingWindowInSeconds,
ScalingConfig.MaximumConcurrency, FunctionResponseTypes), in snake case.
"""

from dataclasses import dataclass

REPORT_BATCH_ITEM_FAILURES = "ReportBatchItemFailures"
# AWS advises a queue visibility timeout of at least six times the function timeout, so that a batch
# throttled or retried by the poller is not redelivered while it is still being handled.
ADVISED_VISIBILITY_FACTOR = 6


class InvalidConfiguration(ValueError):
    """A setting AWS would refuse with InvalidParameterValueException."""


@dataclass(frozen=True)
class MappingConfig:
    """An event source mapping's settings; `check` raises for what AWS refuses and returns what it advises against."""

    batch_size: int = 10
    maximum_batching_window_in_seconds: float = 0
    maximum_concurrency: int = 2
    function_response_types: tuple[str, ...] = (REPORT_BATCH_ITEM_FAILURES,)
    function_timeout_seconds: int = 30

    @property
    def reports_batch_item_failures(self) -> bool:
        """Whether the function's partial batch response is read at all (otherwise it is ignored)."""
        return REPORT_BATCH_ITEM_FAILURES in self.function_response_types

    def check(self, queue_attributes: dict[str, str]) -> list[str]:
        """Raise InvalidConfiguration as AWS would; return warnings where AWS advises against."""
        fifo = queue_attributes.get("FifoQueue") == "true"
        self._check_batching(fifo)
        if not 2 <= self.maximum_concurrency <= 1000:
            raise InvalidConfiguration(f"MaximumConcurrency must be between 2 and 1000, not {self.maximum_concurrency}")
        unknown = set(self.function_response_types) - {REPORT_BATCH_ITEM_FAILURES}
        if unknown:
            raise InvalidConfiguration(f"FunctionResponseTypes may only hold {REPORT_BATCH_ITEM_FAILURES}: {unknown}")
        return self._check_visibility(int(queue_attributes["VisibilityTimeout"]))

    def _check_batching(self, fifo: bool) -> None:
        largest = 10 if fifo else 10_000
        if not 1 <= self.batch_size <= largest:
            kind = "FIFO" if fifo else "standard"
            raise InvalidConfiguration(f"BatchSize must be between 1 and {largest} for a {kind} queue")
        if not 0 <= self.maximum_batching_window_in_seconds <= 300:
            raise InvalidConfiguration("MaximumBatchingWindowInSeconds must be between 0 and 300")
        if fifo and self.maximum_batching_window_in_seconds:
            raise InvalidConfiguration("Batching window is not supported for FIFO queues")
        if self.batch_size > 10 and self.maximum_batching_window_in_seconds < 1:
            raise InvalidConfiguration("BatchSize above 10 needs MaximumBatchingWindowInSeconds of at least 1")

    def _check_visibility(self, visibility_timeout: int) -> list[str]:
        if visibility_timeout < self.function_timeout_seconds:
            raise InvalidConfiguration(
                f"Queue visibility timeout: {visibility_timeout} seconds is less than "
                f"Function timeout: {self.function_timeout_seconds} seconds"
            )
        advised = ADVISED_VISIBILITY_FACTOR * self.function_timeout_seconds
        if visibility_timeout < advised:
            return [
                f"queue visibility timeout {visibility_timeout}s is below the advised {advised}s "
                f"({ADVISED_VISIBILITY_FACTOR} times the function timeout): batches may be redelivered while running"
            ]
        return []
