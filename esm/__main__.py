"""Run the local event source mappings: feed the task queue and the high-priority queue to lambda/handler.py.

Each execution environment is a child process here, or, with ESM_FUNCTION_URLS (compose), a Lambda container.

python -m esm
"""

import itertools
import logging
import sys
import threading
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

log = logging.getLogger("esm")
LAMBDA_TASK_ROOT = Path(__file__).resolve().parent.parent / "lambda"


def main() -> None:
    settings = MappingSettings()
    configure_logging("event-source-mapping", settings.log_level)
    client = make_sqs_client(settings)
    metrics = ConsumerMetrics()
    if settings.esm_metrics_port:
        metrics.serve(settings.esm_metrics_port, settings.metrics_host)
    normal_urls, high_urls = function_urls(settings)
    # One mapping per queue, as on AWS, each with environments of its own.
    mappings = [
        EventSourceMapping(
            client,
            queue_url(client, name),
            environment_factory(settings, urls, metrics),
            mapping_config(settings, concurrency),
            metrics=metrics,
            # The high-priority queue's environments start at once: its tasks never pay a cold start.
            warm_environments=concurrency if high else 0,
        )
        for name, urls, concurrency, high in (
            (settings.queue_name, normal_urls, settings.esm_maximum_concurrency, False),
            (settings.high_priority_queue_name, high_urls, settings.esm_high_priority_maximum_concurrency, True),
        )
    ]
    stop_on_signals(lambda *_: [mapping.stop() for mapping in mappings])
    sys.exit(run_together(mappings))


def run_together(mappings: list[EventSourceMapping]) -> int:
    """Run the mappings side by side until stopped; when one ends (a crash included), the others stop too, so
    the process exits, with 1 after a crash, and whatever restarts it restarts both."""
    crashed = threading.Event()

    def run(mapping: EventSourceMapping) -> None:
        try:
            mapping.run()
        except Exception:
            log.exception("an event source mapping crashed; stopping the others", extra={"queue": mapping.queue_url})
            crashed.set()
        finally:
            for other in mappings:
                other.stop()

    threads = [threading.Thread(target=run, args=(m,), name=f"mapping-{i}") for i, m in enumerate(mappings)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return 1 if crashed.is_set() else 0


def function_urls(settings: MappingSettings) -> tuple[list[str], list[str]]:
    """ESM_FUNCTION_URLS shared out: the task queue's mapping takes the first MaximumConcurrency, the
    high-priority queue's the next ones. Exits if there are too few: each emulator runs one invocation at a time."""
    urls, normal = settings.esm_function_urls, settings.esm_maximum_concurrency
    needed = normal + settings.esm_high_priority_maximum_concurrency
    if urls and len(urls) < needed:
        sys.exit(
            f"esm: ESM_MAXIMUM_CONCURRENCY={normal} and ESM_HIGH_PRIORITY_MAXIMUM_CONCURRENCY="
            f"{settings.esm_high_priority_maximum_concurrency} need {needed} Lambda containers, "
            f"but ESM_FUNCTION_URLS lists {len(urls)}"
        )
    return urls[:normal], urls[normal:needed]


def mapping_config(settings: MappingSettings, maximum_concurrency: int) -> MappingConfig:
    """A mapping's settings; only its share of concurrency differs between the two queues."""
    return MappingConfig(
        batch_size=settings.esm_batch_size,
        maximum_batching_window_in_seconds=settings.esm_maximum_batching_window_in_seconds,
        maximum_concurrency=maximum_concurrency,
        function_response_types=tuple(settings.esm_function_response_types),
        function_timeout_seconds=settings.function_timeout_seconds,
    )


def environment_factory(
    settings: MappingSettings, urls: list[str], metrics: ConsumerMetrics | None = None
) -> Callable[[], Invoker]:
    """Makes execution environments: the Lambda containers at `urls` if any, else child processes (whose
    Embedded Metric Format lines go to `metrics`; a container's go to its own log, as on AWS)."""
    timeout = settings.function_timeout_seconds
    if not urls:
        return partial(
            ProcessEnvironment,
            LAMBDA_TASK_ROOT,
            settings.esm_function_handler,
            function_name="task-consumer",
            timeout_seconds=timeout,
            emf_sink=(metrics or ConsumerMetrics()).record_emf,
        )
    next_url = itertools.cycle(urls).__next__
    return lambda: HttpInvoker(next_url(), timeout_seconds=timeout)


if __name__ == "__main__":
    main()
