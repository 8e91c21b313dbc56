"""The outbox's way out: SendMessageBatch, ten messages per call."""

from collections.abc import Sequence

from taskflow.services.outbox import OutgoingMessage
from taskflow.sqs import in_batches


def _message_attributes(attributes: dict) -> dict:
    return {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]} for name, value in attributes.items()
    }


class SqsSender:
    """Sends outbox messages to one queue."""

    def __init__(self, client, url: str) -> None:
        self.client = client
        self.url = url

    def send(self, messages: Sequence[OutgoingMessage]) -> dict[str, str]:
        """Send any number of messages; return {message id: error} for those SQS refused."""
        failures: dict[str, str] = {}
        for batch in in_batches(messages):
            failures.update(self.send_batch(batch))
        return failures

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> dict[str, str]:
        """Send up to ten messages in one SendMessageBatch call."""
        response = self.client.send_message_batch(
            QueueUrl=self.url,
            Entries=[
                {"Id": m.id, "MessageBody": m.body, "MessageAttributes": _message_attributes(m.attributes)}
                for m in messages
            ],
        )
        return {failed["Id"]: f"{failed.get('Code')}: {failed.get('Message')}" for failed in response.get("Failed", [])}
