"""The SQS adapter: a boto3 client per process, queue lookups, batches of ten, and the queues' message counts."""

import json
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import TypeVar

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from taskflow.domain.priority import high_priority_queue_name
from taskflow.settings import Settings

# The most entries SendMessageBatch, DeleteMessageBatch, ChangeMessageVisibilityBatch and ReceiveMessage take.
SQS_BATCH_LIMIT = 10
# Short timeouts: a relay or health check should notice an unreachable endpoint in seconds, not minutes.
CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=25, retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=20
)
COUNT_ATTRIBUTES = {
    "visible": "ApproximateNumberOfMessages",
    "in_flight": "ApproximateNumberOfMessagesNotVisible",
    "delayed": "ApproximateNumberOfMessagesDelayed",
}
Item = TypeVar("Item")


def make_sqs_client(settings: Settings):
    """A boto3 SQS client for the configured endpoint (real AWS when AWS_ENDPOINT_URL is unset)."""
    return boto3.client(
        "sqs", endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region, config=CLIENT_CONFIG
    )


@lru_cache
def queue_url(client, queue_name: str) -> str:
    """The URL of a queue by name, looked up once."""
    return client.get_queue_url(QueueName=queue_name)["QueueUrl"]


@lru_cache
def dead_letter_queue_url(client, url: str) -> str:
    """The URL of the queue's dead-letter queue, as its redrive policy names it (looked up once).

    The queue's own definition is the one place that says where its dead letters go: locally the provisioning
    hook, on AWS the template.
    """
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    target_arn = json.loads(attributes["RedrivePolicy"])["deadLetterTargetArn"]
    _, _, _, _, account, name = target_arn.split(":")
    return client.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"]


def in_batches(items: Sequence[Item], size: int = SQS_BATCH_LIMIT) -> Iterator[Sequence[Item]]:
    """`items` in slices of at most `size`, the most one SQS batch call takes (itertools.batched is 3.12+)."""
    for start in range(0, len(items), size):
        yield items[start : start + size]


def delete_messages(client, url: str, receipt_handles: Sequence[str]) -> list[str]:
    """Delete messages by receipt handle, ten per call; return an error for each one SQS did not delete.

    A message left undeleted is not lost: it comes back after its visibility timeout.
    """
    return _in_batch_calls(client.delete_message_batch, url, receipt_handles, {})


def make_visible(client, url: str, receipt_handles: Sequence[str]) -> list[str]:
    """Make received messages visible again at once; return an error for each one SQS did not release."""
    return _in_batch_calls(client.change_message_visibility_batch, url, receipt_handles, {"VisibilityTimeout": 0})


def _in_batch_calls(call, url: str, receipt_handles: Sequence[str], extra: dict) -> list[str]:
    errors = []
    for chunk in in_batches(receipt_handles):
        entries = [{"Id": str(i), "ReceiptHandle": handle, **extra} for i, handle in enumerate(chunk)]
        try:
            response = call(QueueUrl=url, Entries=entries)
        except (BotoCoreError, ClientError) as error:  # the other batches still go
            errors += [str(error)] * len(chunk)
            continue
        errors += [f"{failed.get('Code')}: {failed.get('Message')}" for failed in response.get("Failed", [])]
    return errors


@dataclass(frozen=True)
class QueueCounts:
    """A queue's approximate message counts."""

    visible: int
    in_flight: int
    delayed: int

    @property
    def nothing_to_deliver(self) -> bool:
        """Nothing visible or in flight. A delayed message is a scheduled task's, not yet due: a queue that holds
        only those has lost nothing of what it should be delivering now."""
        return self.visible == self.in_flight == 0

    @property
    def is_empty(self) -> bool:
        """No message at all: none visible, in flight or delayed."""
        return self.visible == self.in_flight == self.delayed == 0


def queue_counts(client, url: str) -> QueueCounts:
    """The queue's message counts, in one GetQueueAttributes call."""
    attributes = client.get_queue_attributes(QueueUrl=url, AttributeNames=list(COUNT_ATTRIBUTES.values()))
    values = attributes["Attributes"]
    return QueueCounts(**{state: int(values.get(name, "0")) for state, name in COUNT_ATTRIBUTES.items()})


class QueueDepths:
    """The task queues' and their dead-letter queues' counts, read from SQS at most once per `seconds`."""

    def __init__(self, client, queue_name: str, seconds: float) -> None:
        self.client = client
        self.queue_names = {"queue": queue_name, "high_priority_queue": high_priority_queue_name(queue_name)}
        self.seconds = seconds
        self.lock = threading.Lock()
        self.read_at = -seconds
        self.depths: dict[str, QueueCounts] = {}
        self.names: dict[str, str] = {}  # each queue's name, known after the first read

    def read(self) -> dict[str, QueueCounts]:
        """{"queue", "dead_letter_queue", "high_priority_queue", "high_priority_dead_letter_queue": counts};
        blocks on SQS only when the last read is too old."""
        with self.lock:  # one reader refreshes; the others wait for its answer instead of calling SQS too
            if time.monotonic() - self.read_at >= self.seconds:
                urls = {}
                for role, name in self.queue_names.items():
                    urls[role] = queue_url(self.client, name)
                    urls[role.replace("queue", "dead_letter_queue")] = dead_letter_queue_url(self.client, urls[role])
                self.depths = {role: queue_counts(self.client, url) for role, url in urls.items()}
                self.names = {role: url.rsplit("/", 1)[-1] for role, url in urls.items()}
                self.read_at = time.monotonic()
            return self.depths
