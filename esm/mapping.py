"""The poll loop: receive a batch, invoke the function, delete what it processed.

As with AWS's SQS trigger: a message the function reports in batchItemFailures, or every message of an
invocation that raised or timed out, is left alone and comes back after the queue's visibility timeout. An
invocation that never reached the function (its container restarting) is not a failure: as AWS's poller does
when an invoke is refused, the mapping tries again with the batch in hand.
Up to MaximumConcurrency invocations run at once, each in an execution environment of its own.
"""

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor

from tenacity import (
    Retrying,
    before_sleep_log,
    retry_if_exception_type,
    stop_after_delay,
    stop_when_event_set,
    wait_exponential_jitter,
)

from esm.config import MappingConfig
from esm.events import failed_message_ids, keep_group_order, sqs_event
from esm.invokers import FunctionUnreachable, Invoker
from esm.metrics import ConsumerMetrics
from taskflow.sqs import SQS_BATCH_LIMIT, delete_messages, make_visible

log = logging.getLogger("esm")
DEFAULT_CONFIG = MappingConfig()
# On stop, invocations in flight get this long to finish; then their environments are shut down (their records
# come back after the visibility timeout, as after any failed invocation) and the mapping exits.
STOP_GRACE_SECONDS = 2.0
# How long an environment that cannot be reached gets before its batch goes back to the queue: long enough for a
# container to restart, well inside the visibility timeout, and with no new receive counting towards the DLQ.
UNREACHABLE_RETRY_SECONDS = 30


class EventSourceMapping:
    """Feeds one SQS queue to one function; settings are named after the AWS EventSourceMapping properties."""

    def __init__(
        self,
        client,
        queue_url: str,
        new_environment: Callable[[], Invoker],
        config: MappingConfig = DEFAULT_CONFIG,
        *,
        poll_wait_seconds: int = 2,
        metrics: ConsumerMetrics | None = None,
        warm_environments: int = 0,
    ) -> None:
        """Raise InvalidConfiguration for a configuration AWS would refuse; log what AWS advises against.

        `warm_environments` are started (and initialised) before the first message, as provisioned concurrency
        does on AWS: their first invocation pays no cold start. Others start when first needed."""
        attributes = client.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
        for warning in config.check(attributes):
            log.warning(warning)
        self.client = client
        self.queue_url = queue_url
        self.new_environment = new_environment
        self.config = config
        self.poll_wait_seconds = poll_wait_seconds
        self.metrics = metrics or ConsumerMetrics()
        self.fifo = attributes.get("FifoQueue") == "true"
        self.queue_arn = attributes["QueueArn"]
        self.region = self.queue_arn.split(":")[3]
        self.idle_environments: queue.SimpleQueue[Invoker] = queue.SimpleQueue()
        self.environments: list[Invoker] = []  # every environment made, busy or idle
        for _ in range(min(warm_environments, config.maximum_concurrency)):
            self.idle_environments.put(self._new_environment())
        self.stopping = threading.Event()

    def run(self) -> None:
        """Poll and invoke until stop() is called.

        As AWS's pollers do, the next batch is received while the function handles the current one, and
        processed messages are deleted in the background, so the function never waits for the network.
        """
        concurrency = self.config.maximum_concurrency
        log.info("event source mapping started", extra={"queue": self.queue_url, "config": str(self.config)})
        slots = threading.BoundedSemaphore(concurrency)
        with (
            ThreadPoolExecutor(1, "esm-receive") as receiver,
            ThreadPoolExecutor(1, "esm-delete") as deleter,
            ThreadPoolExecutor(concurrency, "esm-invoke") as invocations,
        ):
            upcoming = receiver.submit(self._receive_batch)
            while True:
                messages = self._result_of(upcoming)
                has_slot = bool(messages) and self._wait_for_slot(slots)
                if self.stopping.is_set():
                    self._release(messages)
                    break
                upcoming = receiver.submit(self._receive_batch)
                if has_slot:
                    delete = lambda done: deleter.submit(self._delete, done)  # noqa: E731
                    invocations.submit(self._process_in_slot, messages, delete, slots)
            self._wait_for_invocations(slots, concurrency, STOP_GRACE_SECONDS)
            self._close_environments()
        log.info("event source mapping stopped")

    def _wait_for_slot(self, slots: threading.BoundedSemaphore) -> bool:
        while not self.stopping.is_set():
            if slots.acquire(timeout=0.2):
                return True
        return False

    def _process_in_slot(self, messages, delete, slots: threading.BoundedSemaphore) -> None:
        try:
            self._process(messages, delete)
        except Exception:
            log.exception("could not handle a batch; SQS will redeliver it")
        finally:
            slots.release()

    def _wait_for_invocations(self, slots: threading.BoundedSemaphore, concurrency: int, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        taken = 0
        while taken < concurrency and slots.acquire(timeout=max(0.0, deadline - time.monotonic())):
            taken += 1
        if taken < concurrency:
            log.warning("stopping with invocations in flight; their records return to the queue")

    def _close_environments(self) -> None:
        for environment in self.environments:
            if hasattr(environment, "close"):
                environment.close()

    def _result_of(self, receiving: Future) -> list[dict]:
        try:
            return receiving.result()
        except Exception:  # an unreachable endpoint must not end the mapping: wait and poll again
            log.exception("polling failed; retrying")
            self.stopping.wait(1)
            return []

    def _release(self, messages: list[dict]) -> None:
        """Make received but unprocessed messages visible again at once, instead of after the visibility timeout."""
        errors = make_visible(self.client, self.queue_url, [m["ReceiptHandle"] for m in messages])
        if errors:  # they come back after the visibility timeout anyway
            log.warning("could not release prefetched messages", extra={"errors": errors})

    def stop(self, *_: object) -> None:
        """Finish the current batch and exit."""
        self.stopping.set()

    def _process(self, messages: list[dict], delete: Callable[[list[dict]], object]) -> int:
        if not messages:
            return 0
        failed = self._invoke(messages)
        if self.fifo:
            failed = keep_group_order(messages, failed)
        done = [m for m in messages if m["MessageId"] not in failed]
        delete(done)
        self.metrics.messages.labels("deleted").inc(len(done))
        self.metrics.messages.labels("returned").inc(len(messages) - len(done))
        if failed:
            log.warning("records reported failed; SQS will redeliver them", extra={"failed": sorted(failed)})
        return len(messages)

    def _invoke(self, messages: list[dict]) -> set[str]:
        """Invoke the function in an idle environment (or a new one); return the ids of the failed messages."""
        ids = [m["MessageId"] for m in messages]
        environment = self._idle_environment()
        started = time.monotonic()
        try:
            response = self._invoke_when_reachable(environment, sqs_event(messages, self.queue_arn, self.region))
        except Exception as error:
            log.warning(
                "invocation failed; the whole batch returns to the queue",
                extra={"messages": len(ids), "error": str(error)},
            )
            self.metrics.invoked(len(ids), time.monotonic() - started, failed=True)
            return set(ids)
        finally:
            if getattr(environment, "alive", True):
                self.idle_environments.put(environment)
        self.metrics.invoked(len(ids), time.monotonic() - started, failed=False)
        if not self.config.reports_batch_item_failures:
            return set()  # without ReportBatchItemFailures, AWS ignores the response
        return failed_message_ids(response, ids)

    def _idle_environment(self) -> Invoker:
        """An idle environment that is still alive (one that died waiting is dropped), or a new one."""
        while True:
            try:
                environment = self.idle_environments.get_nowait()
            except queue.Empty:
                return self._new_environment()
            if getattr(environment, "alive", True):
                return environment
            log.warning("an idle execution environment died; starting another")
            self.environments.remove(environment)

    def _new_environment(self) -> Invoker:
        environment = self.new_environment()
        self.environments.append(environment)
        return environment

    def _invoke_when_reachable(self, environment: Invoker, event: dict) -> object:
        """`environment`'s response to `event`, trying again while the invocation cannot reach it."""
        retrying = Retrying(
            retry=retry_if_exception_type(FunctionUnreachable),
            wait=wait_exponential_jitter(multiplier=0.1, max=2),
            stop=stop_after_delay(UNREACHABLE_RETRY_SECONDS) | stop_when_event_set(self.stopping),
            before_sleep=before_sleep_log(log, logging.WARNING),
            reraise=True,
        )
        return retrying(environment.invoke, event)

    def _receive_batch(self) -> list[dict]:
        """Up to batch_size messages: the first receive long-polls, then the batching window fills the rest."""
        batch: list[dict] = []
        deadline = None
        while len(batch) < self.config.batch_size and not self.stopping.is_set():
            if batch:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                wait = min(20, int(remaining))
            else:
                wait = self.poll_wait_seconds
            received = self.client.receive_message(
                QueueUrl=self.queue_url,
                MaxNumberOfMessages=min(SQS_BATCH_LIMIT, self.config.batch_size - len(batch)),
                WaitTimeSeconds=wait,
                AttributeNames=["All"],
                MessageAttributeNames=["All"],
            ).get("Messages", [])
            if not received and not batch:
                return []
            if not batch:
                deadline = time.monotonic() + self.config.maximum_batching_window_in_seconds
            batch.extend(received)
            if not received or self.config.maximum_batching_window_in_seconds == 0:
                break
        return batch

    def _delete(self, messages: list[dict]) -> None:
        # A message we fail to delete is not lost: it comes back and the consumer acknowledges the duplicate.
        errors = delete_messages(self.client, self.queue_url, [m["ReceiptHandle"] for m in messages])
        if errors:
            log.warning("could not delete processed messages; they will be redelivered", extra={"errors": errors})
