"""The SQS consumer Lambda: runs each message's task, reporting the failed records back to SQS.

Powertools' batch processor calls `Invocation.run_record` once per record and builds the partial batch
response (`batchItemFailures`), so one bad record is retried alone and never fails its neighbours. Each record
is claimed, run and finished on its own (taskflow.services.processing), and only started while the invocation
has its type's time budget left. Afterwards the message of each task to be retried is hidden for its backoff,
and each refused record that should come back at once is made visible again (ChangeMessageVisibility).
Everything costly (settings, the database pool, the SQS client) is built once per execution environment, which
reports each invocation it takes and how it ended, for the dashboard (taskflow.services.environments).
"""

import os
import socket
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cache, wraps

from aws_lambda_powertools import Logger
from aws_lambda_powertools.metrics import MetricUnit, single_metric
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from taskflow.db.engine import make_engine, make_session_factory
from taskflow.db.login import process_login
from taskflow.domain.errors import MalformedMessage, NotEnoughTime, TaskflowError, TransientTaskError
from taskflow.domain.messages import TaskMessage
from taskflow.services.deadline import Deadline
from taskflow.services.environments import forget_gone_environments, invocation_ended, invocation_started
from taskflow.services.processing import Handled, Outcome, TaskRunner
from taskflow.settings import get_settings
from taskflow.sqs import make_sqs_client

settings = get_settings()
logger = Logger(service="task-consumer", level=settings.log_level)
# A batch whose every record failed is reported like any other partial failure, not raised as an error.
processor = BatchProcessor(event_type=EventType.SQS, raise_on_entire_batch_failure=False)
# One connection per concurrent invocation is all a Lambda execution environment ever uses.
runner = TaskRunner(
    make_session_factory(make_engine(settings.database_url, pool_size=1, login=process_login())),
    lease_margin=timedelta(seconds=settings.claim_lease_margin_seconds),
)
sqs = make_sqs_client(settings)
# Messages acknowledged without running, worth a look: the task was deleted, or dispatched again since.
UNRUN = frozenset({Outcome.STALE, Outcome.UNKNOWN_TASK})
# Refusals whose message should come back at once rather than after the queue's visibility timeout:
# a malformed body (so it reaches the dead-letter queue quickly) and a record this invocation had no time for.
RETURN_AT_ONCE = (MalformedMessage, NotEnoughTime)
METRICS_NAMESPACE = "Taskflow"
# This execution environment, as the dashboard names it: on AWS its log stream (one per environment), elsewhere
# the host (a container) and process.
ENVIRONMENT_ID = os.environ.get("AWS_LAMBDA_LOG_STREAM_NAME") or f"{socket.gethostname()}:{os.getpid()}"


@dataclass
class Invocation:
    """One invocation's records: what became of each, and which messages to hide or return, and for how long."""

    deadline: Deadline
    handled: dict[str, Handled] = field(default_factory=dict)
    visibility: dict[str, int] = field(default_factory=dict)
    refused: Counter = field(default_factory=Counter)  # by reason: TaskBusy, NotEnoughTime, MalformedMessage...

    def run_record(self, record: SQSRecord) -> None:
        """Run one record's task; raising leaves the record in batchItemFailures for SQS to redeliver."""
        message = message_of(record)
        logger.set_correlation_id(message.correlation_id if message else None)
        try:
            handled = self.handled[record.message_id] = runner.handle(record.body, self.deadline, delivery_of(record))
        except TaskflowError as error:
            self.refused[type(error).__name__] += 1
            if isinstance(error, RETURN_AT_ONCE):
                self.visibility[record.message_id] = 0
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
        log = logger.warning if handled.outcome in UNRUN else logger.info
        log("task message handled", message_id=record.message_id, task_id=str(message.task_id), outcome=handled.outcome)
        if handled.retry_in_seconds is not None:
            self.visibility[record.message_id] = handled.retry_in_seconds
            raise TransientTaskError(f"retrying in {handled.retry_in_seconds}s")


def reported(handler: Callable[[dict, LambdaContext], dict]) -> Callable[[dict, LambdaContext], dict]:
    """Tell the dashboard when this environment takes a batch and how it ends (taskflow.services.environments); a
    batch that raises ends with every record failed."""

    @wraps(handler)
    def reporting(event: dict, context: LambdaContext) -> dict:
        forget_gone_once()
        records = len(event["Records"])
        report(invocation_started, records, context.get_remaining_time_in_millis() / 1000)
        try:
            response = handler(event, context)
        except BaseException:
            report(invocation_ended, records, records)
            raise
        report(invocation_ended, records, len(response["batchItemFailures"]))
        return response

    return reporting


@logger.inject_lambda_context
@reported
def lambda_handler(event: dict, context: LambdaContext) -> dict:
    """Entry point named in the image's CMD: handler.lambda_handler."""
    invocation = Invocation(Deadline(lambda: context.get_remaining_time_in_millis() / 1000))
    response = process_partial_response(
        event=event, record_handler=invocation.run_record, processor=processor, context=context
    )
    logger.set_correlation_id(None)
    emit_outcome_metrics(invocation.handled, invocation.refused)
    records = {record["messageId"]: record for record in event["Records"]}
    for message_id, seconds in invocation.visibility.items():
        postpone(records[message_id], seconds)
    return response


@cache
def forget_gone_once() -> None:
    """At this environment's first invocation: the rows of environments gone for a day go."""
    report(forget_gone_environments)


def report(step: Callable[..., None], *figures: float) -> None:
    """Write one of this environment's reports; a failure to is logged, and never fails the batch."""
    try:
        with runner.statements.connect() as connection:
            step(connection, ENVIRONMENT_ID, *figures)
    except Exception:
        logger.warning("could not report this execution environment's invocation", exc_info=True)


def delivery_of(record: SQSRecord) -> dict[str, str]:
    """When SQS took the message and first handed it out (its SentTimestamp and ApproximateFirstReceiveTimestamp)."""
    attributes = record.attributes
    stamps = {"sent_at": attributes.sent_timestamp, "received_at": attributes.approximate_first_receive_timestamp}
    return {name: datetime.fromtimestamp(int(ms) / 1000, UTC).isoformat() for name, ms in stamps.items() if ms}


def message_of(record: SQSRecord) -> TaskMessage | None:
    """The task message a record carries (None for a malformed body, which the runner refuses)."""
    try:
        return TaskMessage.from_body(record.body)
    except MalformedMessage:
        return None


def emit_outcome_metrics(handled: dict[str, Handled], refused: Counter) -> None:
    """Tasks processed, by type and outcome, messages refused, by reason, and the backoff of each retry, as
    CloudWatch Embedded Metric Format lines (CloudWatch turns them into metrics on AWS; the local event source
    mapping into Prometheus figures)."""
    counted = Counter((h.task_type, str(h.outcome)) for h in handled.values())
    for (task_type, outcome), count in counted.items():
        with single_metric("TasksProcessed", MetricUnit.Count, count, namespace=METRICS_NAMESPACE) as metric:
            metric.add_dimension("type", task_type)
            metric.add_dimension("outcome", outcome)
    for reason, count in refused.items():
        with single_metric("MessagesRefused", MetricUnit.Count, count, namespace=METRICS_NAMESPACE) as metric:
            metric.add_dimension("reason", reason)
    for retried in (h for h in handled.values() if h.retry_in_seconds is not None):
        delay = retried.retry_in_seconds
        with single_metric("RetryDelay", MetricUnit.Seconds, delay, namespace=METRICS_NAMESPACE) as metric:
            metric.add_dimension("type", retried.task_type)


def postpone(record: dict, seconds: int) -> None:
    """Set how long a message stays hidden; it is not deleted, so SQS delivers it again afterwards."""
    try:
        sqs.change_message_visibility(
            QueueUrl=queue_url_of(record["eventSourceARN"]),
            ReceiptHandle=record["receiptHandle"],
            VisibilityTimeout=seconds,
        )
    except Exception:  # the message still comes back, after the queue's visibility timeout instead
        logger.exception("could not change a message's visibility", message_id=record["messageId"])


@cache
def queue_url_of(queue_arn: str) -> str:
    """The URL of the queue an event came from, looked up once (it differs between AWS and local endpoints)."""
    _, _, _, _, account, name = queue_arn.split(":")
    return sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]
