"""The SQS consumer Lambda: runs each message's task, reporting the failed records back to SQS.

Per invocation: every task of the batch is claimed in one transaction, Powertools' batch processor then
calls `run_record` once per record and builds the partial batch response (`batchItemFailures`), so one bad
record is retried alone and never fails its neighbours; finally every outcome is stored in one transaction,
and the message of each task that will be retried is hidden for its backoff (ChangeMessageVisibility).
Everything costly (settings, the database pool) is built once per execution environment, at import time.
"""

from collections import Counter
from datetime import timedelta
from functools import cache, partial

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from taskflow.db.engine import make_engine, make_session_factory
from taskflow.domain.errors import TaskflowError
from taskflow.services.processing import Delivery, Outcome, TaskBatch
from taskflow.settings import get_settings
from taskflow.sqs import make_sqs_client

settings = get_settings()
logger = Logger(service="task-consumer", level=settings.log_level)
# A batch whose every record failed is reported like any other partial failure, not raised as an error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# One connection per concurrent invocation is all a Lambda execution environment ever uses.
sessions = make_session_factory(make_engine(settings.database_url, pool_size=1))
lease = timedelta(seconds=settings.function_timeout_seconds + settings.claim_lease_margin_seconds)
sqs = make_sqs_client(settings)
# Messages acknowledged without running, worth a look: the task was deleted, or dispatched again since.
UNRUN = frozenset({Outcome.STALE, Outcome.UNKNOWN_TASK})
METRICS_NAMESPACE = "Taskflow"


def run_record(batch: TaskBatch, record: SQSRecord) -> None:
    """Run one record's task; raising leaves the record in batchItemFailures for SQS to redeliver."""
    message = batch.messages.get(record.message_id)
    logger.set_correlation_id(message.correlation_id if message else None)
    try:
        batch.run(record.message_id)
    except TaskflowError as error:
        logger.warning(
            "task message refused; SQS will redeliver it",
            message_id=record.message_id,
            reason=str(error),
            receive_count=record.attributes.approximate_receive_count,
        )
        raise
    except Exception:
        logger.exception("task message failed; SQS will redeliver it", message_id=record.message_id)
        raise


@logger.inject_lambda_context
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Entry point named in the image's CMD: handler.lambda_handler."""
    records = {record["messageId"]: record for record in event["Records"]}
    batch = TaskBatch(sessions, lease)
    batch.claim({message_id: delivery_of(record) for message_id, record in records.items()})
    response = process_partial_response(
        event=event, record_handler=partial(run_record, batch), processor=processor, context=context
    )
    outcomes = batch.finish()
    emit_outcome_metrics(batch, outcomes)
    for message_id, outcome in outcomes.items():
        message = batch.messages[message_id]
        logger.set_correlation_id(message.correlation_id)
        log = logger.warning if outcome in UNRUN else logger.info
        log("task message handled", message_id=message_id, task_id=str(message.task_id), outcome=outcome)
    logger.set_correlation_id(None)
    for message_id, seconds in batch.retry_delays().items():
        postpone(records[message_id], seconds)
    return response


def emit_outcome_metrics(batch: TaskBatch, outcomes: dict[str, Outcome]) -> None:
    """Tasks processed, by type and outcome, as CloudWatch Embedded Metric Format lines (CloudWatch turns them
    into metrics on AWS; the local event source mapping turns them into Prometheus counters)."""
    counted = Counter((batch.task_type(message_id), str(outcome)) for message_id, outcome in outcomes.items())
    for (task_type, outcome), count in counted.items():
        dimensions = {"type": task_type, "outcome": outcome}
        with single_metric("TasksProcessed", MetricUnit.Count, count, namespace=METRICS_NAMESPACE) as metric:
            for name, value in dimensions.items():
                metric.add_dimension(name, value)


def delivery_of(record: dict) -> Delivery:
    """The body and receive count of one SQS record."""
    return Delivery(record["body"], int(record.get("attributes", {}).get("ApproximateReceiveCount", "1")))


def postpone(record: dict, seconds: int) -> None:
    """Keep a message hidden for the retry backoff; it is not deleted, so SQS delivers it again afterwards."""
    try:
        sqs.change_message_visibility(
            QueueUrl=queue_url_of(record["eventSourceARN"]),
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=seconds,
        )
    except Exception:  # the message still comes back, after the queue's visibility timeout instead
        logger.exception("could not postpone a retried message", message_id=record["messageId"])


@cache
def queue_url_of(queue_arn: str) -> str:
    """The URL of the queue an event came from, looked up once (it differs between AWS and local endpoints)."""
    _, _, _, _, account, name = queue_arn.split(":")
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
