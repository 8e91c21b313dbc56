"""The outbox's way out: SendMessageBatch, ten messages per call, to the task queue or the high-priority queue."""

from collections.abc import Sequence

from taskflow.services.outbox import OutgoingMessage
from taskflow.sqs import in_batches


def _message_attributes(attributes: dict) -> dict:
    return {
        name: {"DataType": value["DataType"], "StringValue": value["StringValue"]} for name, value in attributes.items()
    }


class SqsSender:
    """Sends outbox messages to the task queue, and those of high-priority tasks to the high-priority queue."""

    def __init__(self, client, url: str, high_priority_url: str | None = None) -> None:
        self.client = client
        self.url = url
        self.high_priority_url = high_priority_url or url

    def send(self, messages: Sequence[OutgoingMessage]) -> dict[str, str]:
        """Send any number of messages; return {message id: error} for those SQS refused."""
        failures: dict[str, str] = {}
        for high_priority in (True, False):
            for batch in in_batches([m for m in messages if m.high_priority == high_priority]):
                failures.update(self.send_batch(batch))
        return failures

    def send_batch(self, messages: Sequence[OutgoingMessage]) -> dict[str, str]:
        """Send up to ten messages of one queue (the first one's) in one SendMessageBatch call."""
        response = self.client.send_message_batch(
            QueueUrl=self.high_priority_url if messages[0].high_priority else self.url,
            Entries=[
                {
                    "Id": m.id,
                    "MessageBody": m.body,
                    "MessageAttributes": _message_attributes(m.attributes),
                    **({"DelaySeconds": m.delay_seconds} if m.delay_seconds else {}),
                }
                for m in messages
            ],
        )
        return {failed["Id"]: f"{failed.get('Code')}: {failed.get('Message')}" for failed in response.get("Failed", [])}
