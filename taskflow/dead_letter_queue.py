"""The dead-letter queue: reading it without consuming it, and moving its messages back to the task queue."""

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from botocore.exceptions import ClientError

from taskflow.domain.errors import MalformedMessage
from taskflow.domain.messages import TaskMessage

log = logging.getLogger("taskflow.dead_letters")
# Messages read are hidden this long, so that successive receives page through the queue.
PAGE_VISIBILITY_SECONDS = 10


@dataclass(frozen=True)
class DeadLetter:
    """One message in the dead-letter queue; `task_id` is None for a body that is not a task message."""

    message_id: str
    body: str
    task_id: uuid.UUID | None
    receive_count: int
    sent_at: datetime


class DeadLetterQueue:
    """One task queue's dead-letter queue, through a boto3 SQS client."""

    def __init__(self, client, url: str, source_url: str) -> None:
        self.client = client
        self.url = url
        self.source_url = source_url

    def peek(self, most: int = 100) -> list[DeadLetter]:
        """Up to `most` messages, read and made visible again at once: nothing is consumed."""
        read = [m for batch in self._pages(most) for m in batch]
        self._release(read)
        return [_dead_letter(m) for m in read]

    def task_ids(self, most: int = 100) -> set[uuid.UUID]:
        """The ids of the tasks whose messages are in the queue (up to `most` messages read)."""
        return {letter.task_id for letter in self.peek(most) if letter.task_id is not None}

    def move_back(self, wanted: Callable[[DeadLetter], bool], most: int = 1000) -> list[DeadLetter]:
        """Send the wanted messages back to the task queue, then delete them here; return them.

        Receive-and-resend: it works on every endpoint, and selects messages (one tenant's, say).
        A crash between send and delete leaves a copy here; the consumer drops its duplicate.
        """
        moved, passed_over = [], []
        for batch in self._pages(most):
            chosen = [m for m in batch if wanted(_dead_letter(m))]
            passed_over.extend(m for m in batch if m not in chosen)
            if chosen:
                self._resend(chosen)
                moved.extend(_dead_letter(m) for m in chosen)
        self._release(passed_over)
        return moved

    def move_all_back(self) -> str:
        """Move every message back with SQS's own redrive (StartMessageMoveTask); fall back to receive-and-resend."""
        arn = self._arn(self.url)
        try:
            task = self.client.start_message_move_task(SourceArn=arn, DestinationArn=self._arn(self.source_url))
            return f"StartMessageMoveTask {task['TaskHandle']}"
        except ClientError as error:
            log.warning("StartMessageMoveTask unavailable; moving by receive and resend", extra={"error": str(error)})
            return f"moved {len(self.move_back(lambda _: True, most=100_000))} by receive and resend"

    def _pages(self, most: int):
        # Each page stays hidden until the caller releases it, so the next receive returns further messages.
        seen: set[str] = set()
        while len(seen) < most:
            received = self.client.receive_message(
                QueueUrl=self.url,
                MaxNumberOfMessages=min(10, most - len(seen)),
                VisibilityTimeout=PAGE_VISIBILITY_SECONDS,
                WaitTimeSeconds=0,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            fresh = [m for m in received if m["MessageId"] not in seen]
            if not fresh:
                return
            seen.update(m["MessageId"] for m in fresh)
            yield fresh

    def _release(self, messages: list[dict]) -> None:
        for start in range(0, len(messages), 10):
            self.client.change_message_visibility_batch(
                QueueUrl=self.url,
                Entries=[
                    {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for i, m in enumerate(messages[start : start + 10])
                ],
            )

    def _resend(self, messages: list[dict]) -> None:
        entries = [
            {"Id": str(i), "MessageBody": m["Body"], "MessageAttributes": m.get("MessageAttributes", {})}
            for i, m in enumerate(messages)
        ]
        failed = {
            f["Id"] for f in self.client.send_message_batch(QueueUrl=self.source_url, Entries=entries).get("Failed", [])
        }
        sent = [m for i, m in enumerate(messages) if str(i) not in failed]
        if sent:
            self.client.delete_message_batch(
                QueueUrl=self.url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(sent)],
            )

    def _arn(self, url: str) -> str:
        return self.client.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]


def _dead_letter(message: dict) -> DeadLetter:
    attributes = message.get("Attributes", {})
    try:
        task_id = TaskMessage.from_body(message["Body"]).task_id
    except MalformedMessage:
        task_id = None
    return DeadLetter(
        message_id=message["MessageId"],
        body=message["Body"],
        task_id=task_id,
        receive_count=int(attributes.get("ApproximateReceiveCount", "0")),
        sent_at=datetime.fromtimestamp(int(attributes.get("SentTimestamp", "0")) / 1000, UTC),
    )
