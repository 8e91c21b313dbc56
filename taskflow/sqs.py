"""The SQS adapter: one boto3 client per process and the sender the outbox relay uses."""

from collections.abc import Sequence
from functools import lru_cache

import boto3
from botocore.config import Config

from taskflow.services.outbox import OutgoingMessage
from taskflow.settings import Settings

# Short timeouts: a relay or health check should notice an unreachable endpoint in seconds, not minutes.
CLIENT_CONFIG = Config(
    connect_timeout=2, read_timeout=25, retries={"max_attempts": 2, "mode": "standard"}, max_pool_connections=20
)


def make_sqs_client(settings: Settings):
    """A boto3 SQS client for the configured endpoint (real AWS when AWS_ENDPOINT_URL is unset)."""
    return boto3.client(
        "sqs", endpoint_url=settings.aws_endpoint_url, region_name=settings.aws_region, config=CLIENT_CONFIG
    )


@lru_cache
def queue_url(client, queue_name: str) -> str:
    """The URL of a queue by name, looked up once."""
    return client.get_queue_url(QueueName=queue_name)["QueueUrl"]


QUEUE_COUNTS = [
    "ApproximateNumberOfMessages",
    "ApproximateNumberOfMessagesNotVisible",
    "ApproximateNumberOfMessagesDelayed",
]


def _message_attributes(attributes: dict) -> dict:
    return {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]} for name, value in attributes.items()
    }


class SqsSender:
    """Sends outbox messages with SendMessageBatch."""

    def __init__(self, client, url: str) -> None:
        self.client = client
        self.url = url

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> dict[str, str]:
        """Send up to ten messages; return {entry id: error} for the entries SQS refused."""
        response = self.client.send_message_batch(
            QueueUrl=self.url,
            Entries=[
                {"Id": m.id, "MessageBody": m.body, "MessageAttributes": _message_attributes(m.attributes)}
                for m in messages
            ],
        )
        return {failed["Id"]: f"{failed.get('Code')}: {failed.get('Message')}" for failed in response.get("Failed", [])}

    def is_drained(self) -> bool:
        """True when the queue holds no message at all: none visible, in flight or delayed."""
        attributes = self.client.get_queue_attributes(QueueUrl=self.url, AttributeNames=QUEUE_COUNTS)["Attributes"]
        return all(int(attributes.get(name, "0")) == 0 for name in QUEUE_COUNTS)
