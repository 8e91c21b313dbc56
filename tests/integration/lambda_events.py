"""Real-shaped SQS events for invoking the Lambda handler in tests."""

import copy
import json
import uuid
from datetime import timedelta
from pathlib import Path

from sqlalchemy import func

from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.domain.messages import TaskMessage

EVENT = json.loads((Path(__file__).resolve().parents[1] / "fixtures" / "sqs_event.json").read_text())


def event_for(*bodies: str) -> dict:
    """An SQS event with one record per body, each with its own message id."""
    template = EVENT["Records"][0]
    records = []
    for body in bodies:
        record = copy.deepcopy(template)
        record["messageId"] = str(uuid.uuid4())
        record["body"] = body
        records.append(record)
    return {"Records": records}


def body_of(task: Task) -> str:
    """The body of the message that dispatches `task` at its current version."""
    return TaskMessage(task_id=task.id, version=task.version, correlation_id=task.correlation_id).to_body()


def failures(response: dict) -> list[str]:
    """The message ids a partial batch response reports as failed."""
    return [item["itemIdentifier"] for item in response["batchItemFailures"]]


def set_running(sessions, task_id, lease_ends_in: timedelta, attempts: int = 1) -> None:
    """Make a task look claimed by another consumer, whose lease ends in `lease_ends_in` (negative: ran out)."""
    with sessions() as session:
        task = session.get(Task, task_id)
        task.status, task.started_at, task.attempts, task.version = "running", utc_now(), attempts, 2
        task.lease_expires_at = func.now() + lease_ends_in
        session.commit()
