"""Run the local event source mapping: feed the task queue to lambda/handler.py.

Each execution environment is a child process here, or, with ESM_FUNCTION_URLS (compose), a Lambda container.

python -m esm
"""

import itertools
import sys
from collections.abc import Callable
from functools import partial
from pathlib import Path

from esm.config import MappingConfig
from esm.environments import ProcessEnvironment
from esm.invokers import HttpInvoker, Invoker
from esm.mapping import EventSourceMapping
from esm.metrics import ConsumerMetrics
from esm.settings import MappingSettings
from taskflow.lifetime import stop_on_signals
from taskflow.logs import configure_logging
from taskflow.sqs import make_sqs_client, queue_url

LAMBDA_TASK_ROOT = Path(__file__).resolve().parent.parent / "lambda"


def main() -> None:
    settings = MappingSettings()
    configure_logging("event-source-mapping", settings.log_level)
    client = make_sqs_client(settings)
    config = MappingConfig(
        batch_size=settings.esm_batch_size,
        maximum_batching_window_in_seconds=settings.esm_maximum_batching_window_in_seconds,
        maximum_concurrency=settings.esm_maximum_concurrency,
        function_response_types=tuple(settings.esm_function_response_types),
        function_timeout_seconds=settings.function_timeout_seconds,
    )
    metrics = ConsumerMetrics()
    if settings.esm_metrics_port:
        metrics.serve(settings.esm_metrics_port, settings.metrics_host)
    new_environment = environment_factory(settings, metrics)
    url = queue_url(client, settings.queue_name)
    mapping = EventSourceMapping(client, url, new_environment, config, metrics=metrics)
    stop_on_signals(mapping.stop)
    mapping.run()


def environment_factory(settings: MappingSettings, metrics: ConsumerMetrics | None = None) -> Callable[[], Invoker]:
    """Makes execution environments: Lambda containers when ESM_FUNCTION_URLS is set, else child processes
    (whose Embedded Metric Format lines go to `metrics`; a container's go to its own log, as on AWS)."""
    timeout = settings.function_timeout_seconds
    urls = settings.esm_function_urls
    if not urls:
        return partial(
            ProcessEnvironment,
            LAMBDA_TASK_ROOT,
            settings.esm_function_handler,
            function_name="task-consumer",
            timeout_seconds=timeout,
            emf_sink=(metrics or ConsumerMetrics()).record_emf,
        )
    if len(urls) < settings.esm_maximum_concurrency:
        # Each container's emulator refuses a second invocation while one runs.
        sys.exit(
            f"esm: ESM_MAXIMUM_CONCURRENCY={settings.esm_maximum_concurrency} needs as many Lambda containers, "
            f"but ESM_FUNCTION_URLS lists {len(urls)}"
        )
    next_url = itertools.cycle(urls).__next__
    return lambda: HttpInvoker(next_url(), timeout_seconds=timeout)


if __name__ == "__main__":
    main()
