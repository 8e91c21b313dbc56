"""The only way a task's status changes: through the state machine, with a version bump and an event."""

from sqlalchemy.orm import Session

from taskflow.clock import utc_now
from taskflow.db.models import Task, TaskEvent
from taskflow.domain.states import TaskStatus, check_transition, is_finished


def move_task(
    session: Session, task: Task, target: TaskStatus, *, detail: dict | None = None, correlation_id: str | None = None
) -> None:
    """Move `task` to `target` if the state machine allows it (IllegalTransition otherwise) and record why."""
    previous = task.status
    task.status = check_transition(previous, target)
    now = utc_now()
    task.version += 1
    task.updated_at = now
    if target is TaskStatus.RUNNING:
        task.attempts += 1
        task.started_at = now
    if is_finished(target):
        task.finished_at = now
    session.add(
        TaskEvent(
            task_id=task.id,
            from_status=previous,
            to_status=target,
            detail=detail or {},
            correlation_id=correlation_id or task.correlation_id,
            created_at=now,
        )
    )
