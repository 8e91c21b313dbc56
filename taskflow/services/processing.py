"""Running the task of one queue message, safely under at-least-once delivery.

SQS may deliver a message twice, late, or to two consumers at once. Each step is therefore conditional:
the claim only takes a task that is waiting (or whose previous consumer's lease ran out), and a result is
only stored by the consumer whose claim is still the current one.

Each record is handled on its own, in two short writes (each one statement in the usual case, see
taskflow.services.hot_paths): the task is claimed just before its function runs, and its outcome stored just
after. So a record never sits `running` while a neighbour runs, a kill mid-batch leaves only the task that was
running behind (its lease then runs out), and the records after it were never claimed: their messages simply
come back.

Messages that must not run are sorted out before anything runs, each deliberately:
- acknowledged unrun (deleted): a task already finished or cancelled, a task that no longer exists (deleted
  by its owner), a message older than the task's latest dispatch (the task was re-dispatched since);
- refused (left for redelivery): a task another consumer holds right now; a record the invocation has no
  time left for; and a body that is not a task message at all, made visible again at once so that it
  reaches the dead-letter queue after maxReceiveCount quick deliveries, where an operator can read it.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from pydantic_core import to_jsonable_python
from sqlalchemy import func
from sqlalchemy.orm import Session, sessionmaker

from taskflow.db.models import Task
from taskflow.domain.errors import InvalidTaskRequest, NotEnoughTime, TaskBusy, TaskFailed, TaskTimedOut
from taskflow.domain.messages import TaskMessage
from taskflow.domain.states import TaskStatus, is_finished
from taskflow.services.deadline import Deadline
from taskflow.services.hot_paths import Claimed, claim, finish, lock_task
from taskflow.services.transitions import move_task
from taskflow.task_types import TaskContext, get_task_type, time_budget_of

# The error of a task whose consumer was killed (function timeout, environment died) on its last attempt.
KILLED = "the function timed out or its execution environment died"
# An error is stored, listed and logged: a message that quotes a huge payload is cut to this length.
MAX_ERROR_CHARACTERS = 2000


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
class Handled:
    """What became of one message: its outcome, the task's type, and for a retry, the backoff in seconds."""

    outcome: Outcome
    task_type: str
    retry_in_seconds: int | None = None


@dataclass(frozen=True)
class Run:
    """What running a task function produced."""

    result: dict | None
    error: str | None
    transient: bool


@dataclass
class TaskRunner:
    """Claims, runs and finishes the task of one message at a time."""

    sessions: sessionmaker[Session]
    # How long a claim outlives its invocation's deadline: clock drift and the last write, nothing more.
    lease_margin: timedelta

    def __post_init__(self) -> None:
        # The same pool, for single statements that need no transaction around them (no BEGIN, no COMMIT).
        self.statements = self.sessions.kw["bind"].execution_options(isolation_level="AUTOCOMMIT")

    def handle(self, body: str, deadline: Deadline, delivery: dict[str, str] | None = None) -> Handled:
        """Run the task a message names; raise (MalformedMessage, TaskBusy, NotEnoughTime) to refuse it.
        `delivery` (when the queue sent the message and first handed it out) is kept in the claim's event, so the
        time a task spends at each stage can be told apart."""
        message = TaskMessage.from_body(body)
        budget = time_budget_of(message.type)
        if not deadline.allows(budget):
            raise NotEnoughTime(f"{deadline.usable_seconds():.1f}s left, the task's budget is {budget:.1f}s")
        claimed = self._claim(message, deadline, delivery or {})
        if isinstance(claimed, Handled):
            return claimed
        return self._finish(claimed, message, run_before(deadline, claimed))

    def _claim(self, message: TaskMessage, deadline: Deadline, delivery: dict[str, str]) -> Claimed | Handled:
        detail = {"message_version": message.version, **delivery}
        lease = timedelta(seconds=max(deadline.remaining_seconds(), 0)) + self.lease_margin
        with self.statements.connect() as connection:
            claimed = claim(connection, message.task_id, message.version, detail=detail,
                            correlation_id=message.correlation_id, lease=lease)  # fmt: skip
        if claimed:
            return claimed
        with self.sessions() as session:
            locked = lock_task(session, message.task_id)
            if locked is None:
                return Handled(Outcome.UNKNOWN_TASK, message.type or "unknown")
            decided = _claim_otherwise(session, message, locked.lease_expired, detail, lease)
            session.commit()
            return decided

    def _finish(self, claimed: Claimed, message: TaskMessage, run: Run) -> Handled:
        if run.error is None or not run.transient:
            with self.statements.connect() as connection:
                if finish(connection, claimed, result=run.result, error=run.error,
                          correlation_id=message.correlation_id):  # fmt: skip
                    return Handled(Outcome.SUCCEEDED if run.error is None else Outcome.FAILED, claimed.type)
        with self.sessions() as session:  # a retry, a webhook to write, tasks waiting, or superseded
            task = session.get(Task, claimed.id) if lock_task(session, claimed.id) else None
            handled = _store_outcome(session, task, claimed.version, message.correlation_id, run)
            session.commit()
            return handled


def _claim_otherwise(
    session: Session, message: TaskMessage, lease_expired: bool, detail: dict, lease: timedelta
) -> Claimed | Handled:
    """The claim of a task already running (a take-over or a second copy), finished, or dispatched again since;
    or one whose status changed since the claim at once found it running, finished or stale."""
    task = session.get(Task, message.task_id)  # locked by the caller
    decision = _claim_decision(session, task, message, lease_expired)
    if decision is not None:
        return decision
    if task.status == TaskStatus.RUNNING:
        detail["taken_over"] = "the previous consumer's lease expired"
    move_task(session, task, TaskStatus.RUNNING, detail=detail, correlation_id=message.correlation_id)
    task.lease_expires_at = func.now() + lease
    return Claimed(task.id, task.type, task.payload, task.attempts, task.version)


def _claim_decision(session: Session, task: Task, message: TaskMessage, lease_expired: bool) -> Handled | None:
    """None if the message may take the task; otherwise what to do instead (TaskBusy raised: try later)."""
    if message.version < task.dispatched_version:
        return Handled(Outcome.STALE, task.type)
    if is_finished(task.status):
        return Handled(Outcome.ALREADY_FINISHED, task.type)
    if task.status == TaskStatus.RUNNING:
        if not lease_expired:
            # Also the fate of a second copy of a message while the first one runs.
            raise TaskBusy(f"task {task.id} is running under another consumer's lease")
        if get_task_type(task.type).retry.gives_up_after(task.attempts):
            give_up(session, task, message.correlation_id)
            return Handled(Outcome.FAILED, task.type)
    return None


def give_up(session: Session, task: Task, correlation_id: str | None = None) -> None:
    """Fail a task whose last attempt died with its consumer: it is never dispatched again."""
    task.error = f"gave up after {task.attempts} attempts: {KILLED}"
    detail = {"error": task.error, "reason": "lease expired"}
    move_task(session, task, TaskStatus.FAILED, detail=detail, correlation_id=correlation_id)


def _store_outcome(session: Session, task: Task | None, version: int, correlation_id: str, run: Run) -> Handled:
    if task is None or task.status != TaskStatus.RUNNING or task.version != version:
        return Handled(Outcome.SUPERSEDED, task.type if task else "unknown")
    task.lease_expires_at = None
    policy = get_task_type(task.type).retry
    if run.transient and not policy.gives_up_after(task.attempts):
        delay = policy.delay_before_next(task.attempts)
        task.error = run.error
        detail = {"error": run.error, "retry_in_seconds": delay}
        move_task(session, task, TaskStatus.QUEUED, detail=detail, correlation_id=correlation_id)
        return Handled(Outcome.RETRYING, task.type, delay)
    if run.error is None:
        task.result = run.result
        move_task(session, task, TaskStatus.SUCCEEDED, correlation_id=correlation_id)
        return Handled(Outcome.SUCCEEDED, task.type)
    task.error = f"gave up after {task.attempts} attempts: {run.error}" if run.transient else run.error
    move_task(session, task, TaskStatus.FAILED, detail={"error": task.error}, correlation_id=correlation_id)
    return Handled(Outcome.FAILED, task.type)


def run_before(deadline: Deadline, task: Claimed) -> Run:
    """Run the task's function, interrupted if it is still running when the invocation's usable time is up."""
    run = None
    try:
        with deadline.running():
            run = run_task_function(task, deadline.usable_seconds)
    except TaskTimedOut as error:  # the alarm rang just as the function returned
        run = run or Run(None, error_text(error), True)
    return run


def run_task_function(task: Claimed, seconds_left: Callable[[], float]) -> Run:
    """Run the task type's function on the task's payload; a failure is reported, never raised."""
    kind = None
    try:
        kind = get_task_type(task.type)
        context = TaskContext(task_id=task.id, attempt=task.attempts, seconds_left=seconds_left)
        return Run(storable(to_jsonable_python(kind.run(task.payload, context))), None, False)
    except (TaskFailed, InvalidTaskRequest) as error:
        return Run(None, error_text(error, named=False), False)
    except Exception as error:  # a bug in a task function fails that task, never the whole batch
        return Run(None, error_text(error), kind is not None and kind.is_transient(error))


def storable(result: object) -> object:
    """`result` if PostgreSQL can store it; TaskFailed if a string in it holds what no text column takes (a NUL
    character, a lone surrogate), which would otherwise fail the finish again at every delivery."""
    pending = [result]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            pending.extend(value.keys())
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
        elif isinstance(value, str) and value != printable_text(value):
            raise TaskFailed("the task's result holds a NUL character or a lone surrogate, which cannot be stored")
    return result


def printable_text(text: str) -> str:
    """`text` with what PostgreSQL's text columns refuse written out: NUL as \\x00, lone surrogates as \\udXXX."""
    return text.replace("\x00", "\\x00").encode("utf-8", "backslashreplace").decode("utf-8")


def error_text(error: BaseException, named: bool = True) -> str:
    """The error as stored with the task: its class and message, storable, cut to MAX_ERROR_CHARACTERS."""
    text = printable_text(f"{type(error).__name__}: {error}" if named else str(error))
    return text if len(text) <= MAX_ERROR_CHARACTERS else text[: MAX_ERROR_CHARACTERS - 1] + "…"
