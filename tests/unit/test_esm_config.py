"""The event source mapping refuses what CreateEventSourceMapping refuses, and warns where AWS advises against."""

import pytest

from esm.config import InvalidConfiguration, MappingConfig

STANDARD = {"VisibilityTimeout": "180"}
FIFO = {"VisibilityTimeout": "180", "FifoQueue": "true"}


@pytest.mark.parametrize(
    ("config", "attributes", "reason"),
    [
        (MappingConfig(batch_size=0), STANDARD, "BatchSize must be between 1 and 10000"),
        (MappingConfig(batch_size=10_001, maximum_batching_window_in_seconds=1), STANDARD, "between 1 and 10000"),
        (MappingConfig(batch_size=11), FIFO, "BatchSize must be between 1 and 10 for a FIFO queue"),
        (MappingConfig(batch_size=11), STANDARD, "needs MaximumBatchingWindowInSeconds of at least 1"),
        (MappingConfig(maximum_batching_window_in_seconds=301), STANDARD, "between 0 and 300"),
        (MappingConfig(maximum_batching_window_in_seconds=1), FIFO, "not supported for FIFO queues"),
        (MappingConfig(maximum_concurrency=1), STANDARD, "MaximumConcurrency must be between 2 and 1000"),
        (MappingConfig(maximum_concurrency=1001), STANDARD, "MaximumConcurrency must be between 2 and 1000"),
        (MappingConfig(function_response_types=("Everything",)), STANDARD, "FunctionResponseTypes"),
        (MappingConfig(function_timeout_seconds=181), STANDARD, "180 seconds is less than Function timeout: 181"),
    ],
)
def test_refused(config, attributes, reason):
    with pytest.raises(InvalidConfiguration, match=reason):
        config.check(attributes)


@pytest.mark.parametrize(
    "config",
    [
        MappingConfig(batch_size=1),
        MappingConfig(batch_size=10_000, maximum_batching_window_in_seconds=1),
        MappingConfig(maximum_concurrency=1000),
        MappingConfig(function_response_types=()),
        MappingConfig(function_timeout_seconds=30),
    ],
)
def test_accepted_without_warning(config):
    assert config.check(STANDARD) == []


def test_a_visibility_timeout_under_six_function_timeouts_is_accepted_with_a_warning():
    [warning] = MappingConfig(function_timeout_seconds=31).check(STANDARD)
    assert "below the advised 186s" in warning
