"""Real-shaped SQS events for invoking the Lambda handler in tests."""

import copy
import json
import uuid
from pathlib import Path

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
