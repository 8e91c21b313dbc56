"""Dispatching a task: the outbox row that carries its message, written in the transaction of the change.

Every dispatch goes through `dispatch` (the one-statement create writes the row it returns; everything else
`enqueue`s); the relay then sends what the outbox holds (taskflow.services.outbox).
"""

from sqlalchemy.orm import Session

from taskflow.db.models import OutboxMessage, Task
from taskflow.domain.messages import TaskMessage
from taskflow.domain.states import TaskStatus


def enqueue(session: Session, task: Task, correlation_id: str) -> None:
    """Dispatch `task` at its current version: its message is sent once the session's transaction commits.

    Earlier messages of the task become stale: a consumer drops them instead of running the task again.
    """
    session.add(dispatch(task, correlation_id))


def dispatch(task: Task, correlation_id: str) -> OutboxMessage:
    """Mark `task` dispatched at its current version and return the outbox row that carries its message."""
    task.dispatched_version = task.version
    message = TaskMessage(task_id=task.id, version=task.version, correlation_id=correlation_id, type=task.type)
    # A scheduled task's message is due at its run_at; any other's, at once (its run_at, if any, has passed).
    due_at = task.run_at if task.status == TaskStatus.SCHEDULED else None
    return OutboxMessage(task_id=task.id, body=message.to_body(), attributes=message.to_attributes(), due_at=due_at)
