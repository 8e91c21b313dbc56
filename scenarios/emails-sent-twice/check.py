"""Hidden check: a message delivered twice at once runs its task's function once, and the task has one run."""

import threading

from pydantic import BaseModel

from scenarios.conftest import Context, sqs_event
from taskflow.task_types import task_type

sent: list[str] = []
lock = threading.Lock()


class Email(BaseModel):
    to: str


@task_type("scenario_send_email", Email)
def send_email(payload: Email) -> dict:
    """Count every send: the side effect the customer sees."""
    with lock:
        sent.append(payload.to)
    return {"sent_to": payload.to}


def test_a_duplicate_delivery_sends_the_email_once(handler, new_task, sessions):
    task_id, body = new_task("scenario_send_email", {"to": "ada@example.com"})
    sent.clear()
    # SQS's at-least-once delivery: both copies of the message arrive in one batch.
    handler.lambda_handler(sqs_event(body, body), Context())
    assert sent == ["ada@example.com"], f"the email went out {len(sent)} times"

    from taskflow.db.models import TaskEvent

    with sessions() as session:
        runs = session.query(TaskEvent).filter_by(task_id=task_id, to_status="running").count()
    assert runs == 1
