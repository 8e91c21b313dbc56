"""Running a task from its queue message, safely under at-least-once delivery.

SQS may deliver a message twice, late, or to two consumers at once. Each step here is therefore
conditional: the claim only takes a task that is waiting (or whose previous consumer's lease ran out),
and the result is only stored by the consumer whose claim is still the current one. A redelivered
message for a finished task is acknowledged without running anything.
"""

import uuid
from datetime import timedelta
from enum import StrEnum

from pydantic_core import to_jsonable_python
from sqlalchemy.orm import Session, sessionmaker

from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.domain.errors import InvalidTaskRequest, TaskBusy, TaskFailed, TaskNotFound
from taskflow.domain.messages import TaskMessage
from taskflow.domain.states import TaskStatus, is_finished
from taskflow.services.transitions import move_task
from taskflow.task_types import get_task_type


class Outcome(StrEnum):
    """What handling one message did."""

    SUCCEEDED = "succeeded"
    FAILED = "failed"
    ALREADY_FINISHED = "already-finished"  # a duplicate delivery: acknowledged, nothing ran
    SUPERSEDED = "superseded"  # our lease expired and another consumer took the task over


def process_task_message(*, sessions: sessionmaker[Session], message: TaskMessage, lease: timedelta) -> Outcome:
    """Claim the task named by `message`, run its function and store the result or the error."""
    with sessions() as session:
        claimed = claim_task(session=session, message=message, lease=lease)
    if claimed is None:
        return Outcome.ALREADY_FINISHED
    result, error = run_task_function(claimed)
    with sessions() as session:
        stored = finish_task(
            session=session, task_id=claimed.id, claimed_version=claimed.version, result=result, error=error
        )
    if not stored:
        return Outcome.SUPERSEDED
    return Outcome.FAILED if error else Outcome.SUCCEEDED


def claim_task(*, session: Session, message: TaskMessage, lease: timedelta) -> Task | None:
    """Move the task to running and return it; None if it already finished, TaskBusy if another consumer has it."""
    task = session.get(Task, message.task_id, with_for_update=True)
    if task is None:
        raise TaskNotFound(message.task_id)
    if is_finished(task.status):
        session.rollback()
        return None
    if task.status == TaskStatus.RUNNING and task.started_at > utc_now() - lease:
        session.rollback()
        raise TaskBusy(f"task {task.id} is running under another consumer's lease")
    detail = {"message_version": message.version}
    if task.status == TaskStatus.RUNNING:
        detail["taken_over"] = "the previous consumer's lease expired"
    move_task(session, task, TaskStatus.RUNNING, detail=detail, correlation_id=message.correlation_id)
    session.commit()
    return task


def run_task_function(task: Task) -> tuple[dict | None, str | None]:
    """Run the task type's function on the task's payload; return (result, None) or (None, error message)."""
    try:
        kind = get_task_type(task.type)
        result = kind.run(kind.validate_payload(task.payload))
        return to_jsonable_python(result), None
    except (TaskFailed, InvalidTaskRequest) as error:
        return None, str(error)
    except Exception as error:  # a bug in a task function fails that task, never the whole batch
        return None, f"{type(error).__name__}: {error}"


def finish_task(
    *, session: Session, task_id: uuid.UUID, claimed_version: int, result: dict | None, error: str | None
) -> bool:
    """Store the outcome if our claim is still the current one; return False when another consumer took over."""
    task = session.get(Task, task_id, with_for_update=True)
    if task is None or task.status != TaskStatus.RUNNING or task.version != claimed_version:
        session.rollback()
        return False
    if error is None:
        task.result = result
        move_task(session, task, TaskStatus.SUCCEEDED)
    else:
        task.error = error
        move_task(session, task, TaskStatus.FAILED, detail={"error": error})
    session.commit()
    return True
