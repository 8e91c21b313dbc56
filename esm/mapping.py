"""The poll loop: receive a batch, invoke the function, delete what it processed.

As with AWS's SQS trigger: a message the function reports in batchItemFailures, or every message of an
invocation that raised, is left alone and comes back after the queue's visibility timeout.
"""

import logging
import threading
import time

from esm.events import failed_message_ids, sqs_event
from esm.invokers import Invoker

log = logging.getLogger("esm")
SQS_RECEIVE_LIMIT = 10


class EventSourceMapping:
    """Feeds one SQS queue to one function; settings are named after the AWS EventSourceMapping properties."""

    def __init__(
        self,
        client,
        queue_url: str,
        invoker: Invoker,
        *,
        batch_size: int = 10,
        maximum_batching_window_in_seconds: float = 0,
        poll_wait_seconds: int = 2,
    ) -> None:
        self.client = client
        self.queue_url = queue_url
        self.invoker = invoker
        self.batch_size = batch_size
        self.maximum_batching_window_in_seconds = maximum_batching_window_in_seconds
        self.poll_wait_seconds = poll_wait_seconds
        attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])["Attributes"]
        self.queue_arn = attributes["QueueArn"]
        self.region = self.queue_arn.split(":")[3]
        self.stopping = threading.Event()

    def run(self) -> None:
        """Poll and invoke until stop() is called."""
        log.info("event source mapping started", extra={"queue": self.queue_url, "batch_size": self.batch_size})
        while not self.stopping.is_set():
            try:
                self.poll_once()
            except Exception:  # an unreachable endpoint must not end the mapping: wait and poll again
                log.exception("polling failed; retrying")
                self.stopping.wait(1)
        log.info("event source mapping stopped")

    def stop(self, *_: object) -> None:
        """Finish the current batch and exit."""
        self.stopping.set()

    def poll_once(self) -> int:
        """Receive one batch, invoke the function with it and delete its successes; return the batch size."""
        messages = self._receive_batch()
        if not messages:
            return 0
        ids = [m["MessageId"] for m in messages]
        try:
            response = self.invoker.invoke(sqs_event(messages, self.queue_arn, self.region))
            failed = failed_message_ids(response, ids)
        except Exception:
            log.exception("invocation failed; the whole batch returns to the queue", extra={"messages": len(ids)})
            failed = set(ids)
        self._delete([m for m in messages if m["MessageId"] not in failed])
        if failed:
            log.warning("records reported failed; SQS will redeliver them", extra={"failed": sorted(failed)})
        return len(messages)

    def _receive_batch(self) -> list[dict]:
        """Up to batch_size messages: the first receive long-polls, then the batching window fills the rest."""
        batch: list[dict] = []
        deadline = None
        while len(batch) < self.batch_size and not self.stopping.is_set():
            if batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(20, int(remaining))
            else:
                wait = self.poll_wait_seconds
            received = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(SQS_RECEIVE_LIMIT, self.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received and not batch:
                return []
            if not batch:
                deadline = time.monotonic() + self.maximum_batching_window_in_seconds
            batch.extend(received)
            if not received or self.maximum_batching_window_in_seconds == 0:
                break
        return batch

    def _delete(self, messages: list[dict]) -> None:
        for start in range(0, len(messages), SQS_RECEIVE_LIMIT):
            chunk = messages[start : start + SQS_RECEIVE_LIMIT]
            response = self.client.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
            )
            for failure in response.get("Failed", []):
                log.warning("could not delete a processed message", extra={"error": failure.get("Message")})
