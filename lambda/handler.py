"""The SQS consumer Lambda: runs each message's task, reporting the failed records back to SQS.

Powertools' batch processor calls `record_handler` once per record and builds the partial batch response
(`batchItemFailures`), so one bad record is retried alone and never fails its neighbours. Everything costly
(settings, the database pool) is built once per execution environment, at import time, as AWS advises.
"""

from datetime import timedelta

from aws_lambda_powertools import Logger
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from taskflow.db.engine import make_engine, make_session_factory
from taskflow.domain.messages import TaskMessage
from taskflow.services.processing import process_task_message
from taskflow.settings import get_settings

settings = get_settings()
logger = Logger(service="task-consumer", level=settings.log_level)
# A batch whose every record failed is reported like any other partial failure, not raised as an error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# One connection per concurrent invocation is all a Lambda environment ever uses.
sessions = make_session_factory(make_engine(settings.database_url, pool_size=1))
lease = timedelta(seconds=settings.function_timeout_seconds + settings.claim_lease_margin_seconds)


def record_handler(record: SQSRecord) -> None:
    """Process one SQS record; raising leaves it in batchItemFailures for SQS to redeliver."""
    try:
        message = TaskMessage.from_body(record.body)
        logger.set_correlation_id(message.correlation_id)
        outcome = process_task_message(sessions=sessions, message=message, lease=lease)
    except Exception:
        logger.exception("task message not handled; SQS will redeliver it", message_id=record.message_id)
        raise
    logger.info(
        "task message handled",
        task_id=str(message.task_id),
        outcome=outcome,
        receive_count=record.attributes.approximate_receive_count,
    )


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Entry point named in the image's CMD: handler.lambda_handler."""
    return process_partial_response(event=event, record_handler=record_handler, processor=processor, context=context)
