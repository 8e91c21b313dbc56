"""Running tasks from a batch of queue messages, safely under at-least-once delivery.

SQS may deliver a message twice, late, or to two consumers at once. Each step is therefore conditional:
the claim only takes a task that is waiting (or whose previous consumer's lease ran out), and a result is
only stored by the consumer whose claim is still the current one.

Messages that must not run are sorted out before anything runs, each deliberately:
- acknowledged unrun (deleted): a task already finished or cancelled, a task that no longer exists (deleted
  by its owner), a message older than the task's latest dispatch (the task was re-dispatched since);
- refused (left for redelivery): a task another consumer holds right now; and a body that is not a task
  message at all, made visible again at once so that it reaches the dead-letter queue after maxReceiveCount
  quick deliveries, where an operator can read it.

The database work is done per batch, in two short transactions: one claims every task of the batch,
one stores every outcome. Task functions run in between, outside any transaction.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session, sessionmaker

from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.domain.errors import (
    InvalidTaskRequest,
    MalformedMessage,
    TaskBusy,
    TaskFailed,
    TransientTaskError,
)
from taskflow.domain.messages import TaskMessage
from taskflow.domain.states import TaskStatus, is_finished
from taskflow.services.transitions import lock_tasks, move_task
from taskflow.task_types import get_task_type


class Outcome(StrEnum):
    """What handling one message did."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    RETRYING = "retrying"  # a transient failure: back to queued, the message returns after a backoff
    ALREADY_FINISHED = "already-finished"  # a duplicate delivery, or a cancelled task: acknowledged, nothing ran
    STALE = "stale"  # the task was dispatched again since this message: acknowledged, nothing ran
    UNKNOWN_TASK = "unknown-task"  # no such task (deleted by its owner): acknowledged, nothing ran
    SUPERSEDED = "superseded"  # our lease expired and another consumer took the task over


@dataclass(frozen=True)
class Delivery:
    """One received message: its body and how many times SQS has delivered it."""

    body: str
    receive_count: int = 1


@dataclass
class Claim:
    """A task this batch moved to running, and what running its function produced."""

    task: Task
    message: TaskMessage
    ran: bool = False
    result: dict | None = None
    error: str | None = None
    retry_in_seconds: int | None = None
    outcome: Outcome | None = None


@dataclass
class TaskBatch:
    """One invocation's messages: claimed together, run one by one, finished together."""

    sessions: sessionmaker[Session]
    lease: timedelta
    messages: dict[str, TaskMessage] = field(default_factory=dict)
    claims: dict[str, Claim] = field(default_factory=dict)
    refusals: dict[str, Exception] = field(default_factory=dict)
    acknowledged: dict[str, Outcome] = field(default_factory=dict)

    def claim(self, deliveries: dict[str, Delivery]) -> None:
        """Parse each {message id: delivery} and claim every task named, in one transaction."""
        for message_id, delivery in deliveries.items():
            try:
                self.messages[message_id] = TaskMessage.from_body(delivery.body)
            except MalformedMessage as error:
                self.refusals[message_id] = error
        with self.sessions() as session:
            tasks = {task.id: task for task in lock_tasks(session, {m.task_id for m in self.messages.values()})}
            for message_id, message in self.messages.items():
                task = tasks.get(message.task_id)
                self._claim_one(session, message_id, message, task, deliveries[message_id].receive_count)
            session.commit()

    def _claim_one(
        self, session: Session, message_id: str, message: TaskMessage, task: Task | None, receive_count: int
    ) -> None:
        if task is None:
            self.acknowledged[message_id] = Outcome.UNKNOWN_TASK
        elif message.version < task.dispatched_version:
            self.acknowledged[message_id] = Outcome.STALE
        elif is_finished(task.status):
            self.acknowledged[message_id] = Outcome.ALREADY_FINISHED
        elif task.status == TaskStatus.RUNNING and task.started_at > utc_now() - self.lease:
            # Also the fate of a second copy of a message in the same batch: its twin holds the task.
            self.refusals[message_id] = TaskBusy(f"task {task.id} is running under another consumer's lease")
        else:
            detail = {"message_version": message.version}
            if task.status == TaskStatus.RUNNING:
                detail["taken_over"] = "the previous consumer's lease expired"
            move_task(session, task, TaskStatus.RUNNING, detail=detail, correlation_id=message.correlation_id)
            # A consumer that died before claiming still used up a delivery: count it.
            task.attempts = max(task.attempts, receive_count)
            self.claims[message_id] = Claim(task, message)

    def task_type(self, message_id: str) -> str:
        """The type of the task this message claimed ("unknown" if it claimed none)."""
        claim = self.claims.get(message_id)
        return claim.task.type if claim else "unknown"

    def run(self, message_id: str) -> None:
        """Run the function of the task this message claimed; raise if the message was refused."""
        if message_id in self.refusals:
            raise self.refusals[message_id]
        if message_id in self.acknowledged:
            return
        claim = self.claims[message_id]
        claim.result, claim.error, transient = run_task_function(claim.task)
        claim.ran = True
        if transient:
            policy = get_task_type(claim.task.type).retry
            if not policy.gives_up_after(claim.task.attempts):
                claim.retry_in_seconds = policy.delay_before_next(claim.task.attempts)
                raise TransientTaskError(f"retrying in {claim.retry_in_seconds}s: {claim.error}")
            claim.error = f"gave up after {claim.task.attempts} attempts: {claim.error}"

    def retry_delays(self) -> dict[str, int]:
        """{message id: seconds} for each message to be redelivered after a set delay rather than the queue's."""
        retried = {
            message_id: claim.retry_in_seconds
            for message_id, claim in self.claims.items()
            if claim.outcome is Outcome.RETRYING
        }
        malformed = {m: 0 for m, error in self.refusals.items() if isinstance(error, MalformedMessage)}
        return retried | malformed

    def finish(self) -> dict[str, Outcome]:
        """Store the outcome of every task that ran, in one transaction; return each message's outcome."""
        ran = {message_id: claim for message_id, claim in self.claims.items() if claim.ran}
        with self.sessions() as session:
            current = {task.id: task for task in lock_tasks(session, {claim.task.id for claim in ran.values()})}
            for claim in ran.values():
                claim.outcome = _store_outcome(session, current.get(claim.task.id), claim)
            session.commit()
        outcomes = {message_id: claim.outcome for message_id, claim in ran.items()}
        return outcomes | self.acknowledged


def _store_outcome(session: Session, task: Task | None, claim: Claim) -> Outcome:
    if task is None or task.status != TaskStatus.RUNNING or task.version != claim.task.version:
        return Outcome.SUPERSEDED
    if claim.retry_in_seconds is not None:
        task.error = claim.error
        detail = {"error": claim.error, "retry_in_seconds": claim.retry_in_seconds}
        move_task(session, task, TaskStatus.QUEUED, detail=detail, correlation_id=claim.message.correlation_id)
        return Outcome.RETRYING
    if claim.error is None:
        task.result = claim.result
        move_task(session, task, TaskStatus.SUCCEEDED, correlation_id=claim.message.correlation_id)
        return Outcome.SUCCEEDED
    task.error = claim.error
    move_task(
        session, task, TaskStatus.FAILED, detail={"error": claim.error}, correlation_id=claim.message.correlation_id
    )
    return Outcome.FAILED


def run_task_function(task: Task) -> tuple[dict | None, str | None, bool]:
    """Run the task type's function on the task's payload: (result, None, False) on success, else
    (None, error message, whether retrying can help)."""
    kind = None
    try:
        kind = get_task_type(task.type)
        result = kind.run(kind.validate_payload(task.payload))
        return to_jsonable_python(result), None, False
    except (TaskFailed, InvalidTaskRequest) as error:
        return None, str(error), False
    except Exception as error:  # a bug in a task function fails that task, never the whole batch
        transient = kind is not None and kind.is_transient(error)
        return None, f"{type(error).__name__}: {error}", transient
