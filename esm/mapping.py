"""The poll loop: receive a batch, invoke the function, delete what it processed.

As with AWS's SQS trigger: a message the function reports in batchItemFailures, or every message of an
invocation that raised, is left alone and comes back after the queue's visibility timeout.
"""

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

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
        """Poll and invoke until stop() is called.

        As AWS's pollers do, the next batch is received while the function handles the current one, and
        processed messages are deleted in the background, so the function never waits for the network.
        """
        log.info("event source mapping started", extra={"queue": self.queue_url, "batch_size": self.batch_size})
        with ThreadPoolExecutor(1, "esm-receive") as receiver, ThreadPoolExecutor(1, "esm-delete") as deleter:
            upcoming = receiver.submit(self._receive_batch)
            while True:
                messages = self._result_of(upcoming)
                if self.stopping.is_set():
                    self._release(messages)
                    break
                upcoming = receiver.submit(self._receive_batch)
                self._process(messages, lambda done: deleter.submit(self._delete, done))
        log.info("event source mapping stopped")

    def _result_of(self, receiving: Future) -> list[dict]:
        try:
            return receiving.result()
        except Exception:  # an unreachable endpoint must not end the mapping: wait and poll again
            log.exception("polling failed; retrying")
            self.stopping.wait(1)
            return []

    def _release(self, messages: list[dict]) -> None:
        """Make received but unprocessed messages visible again at once, instead of after the visibility timeout."""
        for start in range(0, len(messages), SQS_RECEIVE_LIMIT):
            chunk = messages[start : start + SQS_RECEIVE_LIMIT]
            try:
                self.client.change_message_visibility_batch(
                    QueueUrl=self.queue_url,
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                        for i, m in enumerate(chunk)
                    ],
                )
            except Exception:  # best effort: they come back after the visibility timeout anyway
                log.exception("could not release prefetched messages")

    def stop(self, *_: object) -> None:
        """Finish the current batch and exit."""
        self.stopping.set()

    def poll_once(self) -> int:
        """Receive one batch, invoke the function with it and delete its successes; return the batch size."""
        return self._process(self._receive_batch(), self._delete)

    def _process(self, messages: list[dict], delete: Callable[[list[dict]], object]) -> int:
        if not messages:
            return 0
        ids = [m["MessageId"] for m in messages]
        try:
            response = self.invoker.invoke(sqs_event(messages, self.queue_arn, self.region))
            failed = failed_message_ids(response, ids)
        except Exception:
            log.exception("invocation failed; the whole batch returns to the queue", extra={"messages": len(ids)})
            failed = set(ids)
        delete([m for m in messages if m["MessageId"] not in failed])
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
        # A message we fail to delete is not lost: it comes back and the consumer acknowledges the duplicate.
        for start in range(0, len(messages), SQS_RECEIVE_LIMIT):
            chunk = messages[start : start + SQS_RECEIVE_LIMIT]
            try:
                response = self.client.delete_message_batch(
                    QueueUrl=self.queue_url,
                    Entries=[{"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(chunk)],
                )
            except Exception:
                log.exception("could not delete processed messages; they will be redelivered")
                continue
            for failure in response.get("Failed", []):
                log.warning("could not delete a processed message", extra={"error": failure.get("Message")})
