"""Run the local event source mapping: feed the task queue to lambda/handler.py in execution environments of its own.

python -m esm
"""

import signal
from functools import partial
from pathlib import Path

from esm.config import MappingConfig
from esm.environments import ProcessEnvironment
from esm.mapping import EventSourceMapping
from taskflow.logs import configure_logging
from taskflow.settings import get_settings
from taskflow.sqs import make_sqs_client, queue_url

LAMBDA_TASK_ROOT = Path(__file__).resolve().parent.parent / "lambda"


def main() -> None:
    settings = get_settings()
    configure_logging("event-source-mapping", settings.log_level)
    client = make_sqs_client(settings)
    new_environment = partial(
        ProcessEnvironment,
        LAMBDA_TASK_ROOT,
        settings.esm_function_handler,
        function_name="task-consumer",
        timeout_seconds=settings.function_timeout_seconds,
    )
    config = MappingConfig(
        batch_size=settings.esm_batch_size,
        maximum_batching_window_in_seconds=settings.esm_maximum_batching_window_in_seconds,
        maximum_concurrency=settings.esm_maximum_concurrency,
        function_response_types=tuple(settings.esm_function_response_types),
        function_timeout_seconds=settings.function_timeout_seconds,
    )
    mapping = EventSourceMapping(client, queue_url(client, settings.queue_name), new_environment, config)
    signal.signal(signal.SIGTERM, mapping.stop)
    signal.signal(signal.SIGINT, mapping.stop)
    mapping.run()


if __name__ == "__main__":
    main()
