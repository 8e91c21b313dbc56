"""The dead-letter queue, drained by the relay's sweep: each message is received, recorded, then deleted.

Only the sweep reads this queue (every tenant reads its letters from the database), so no reader ever hides a
message from another. Several relays may sweep at once: SQS hands each message to one of them at a time.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from taskflow.services.dead_letters import ReceivedLetter
from taskflow.sqs import SQS_BATCH_LIMIT, delete_messages

# A received message stays hidden this long: long enough to record it, short enough to retry soon after a crash.
RECEIVE_VISIBILITY_SECONDS = 30


@dataclass(frozen=True)
class Received:
    """One received message: the letter to record and the handle that deletes it."""

    letter: ReceivedLetter
    receipt_handle: str


class DeadLetterQueue:
    """One task queue's dead-letter queue, through a boto3 SQS client."""

    def __init__(self, client, url: str) -> None:
        self.client = client
        self.url = url

    def receive(self, most: int = 100) -> list[Received]:
        """Up to `most` messages, hidden from other receivers until deleted or RECEIVE_VISIBILITY_SECONDS pass."""
        received: list[Received] = []
        while len(received) < most:
            messages = self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(SQS_BATCH_LIMIT, most - len(received)),
                VisibilityTimeout=RECEIVE_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
            ).get("Messages", [])
            if not messages:
                break
            received.extend(Received(_letter(m), m["ReceiptHandle"]) for m in messages)
        return received

    def delete(self, received: list[Received]) -> None:
        """Delete recorded messages (one that fails to delete comes back, and is recorded once all the same)."""
        delete_messages(self.client, self.url, [r.receipt_handle for r in received])


def _letter(message: dict) -> ReceivedLetter:
    attributes = message.get("Attributes", {})
    return ReceivedLetter(
        message_id=message["MessageId"],
        body=message["Body"],
        # SQS keeps counting receives in the dead-letter queue: this receive is the sweep's own, not a delivery.
        receive_count=max(0, int(attributes.get("ApproximateReceiveCount", "1")) - 1),
        sent_at=datetime.fromtimestamp(int(attributes.get("SentTimestamp", "0")) / 1000, UTC),
    )
