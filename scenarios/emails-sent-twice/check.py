"""Hidden check: a message delivered twice runs its task's function once, and the task has one run, whether
the copies arrive in one batch or while another consumer is running the task."""

import threading
from datetime import timedelta

from pydantic import BaseModel

from scenarios.conftest import Context, sqs_event
from taskflow.task_types import TaskContext, task_type
from tests.integration.lambda_events import failures

sent: list[str] = []
lock = threading.Lock()


class Email(BaseModel):
    to: str


@task_type("scenario_send_email", Email)
def send_email(payload: Email, context: TaskContext) -> dict:
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


def test_a_copy_delivered_while_another_consumer_sends_the_email_waits(handler, new_task, sessions):
    from sqlalchemy import func

    from taskflow.clock import utc_now
    from taskflow.db.models import Task

    task_id, body = new_task("scenario_send_email", {"to": "grace@example.com"})
    with sessions() as session:  # another consumer claimed the task a moment ago and is sending right now
        task = session.get(Task, task_id)
        task.status, task.attempts, task.started_at = "running", 1, utc_now()
        task.lease_expires_at = func.now() + timedelta(minutes=1)
        session.commit()
    sent.clear()
    event = sqs_event(body)
    response = handler.lambda_handler(event, Context())
    assert sent == [], "the second consumer sent the email too"
    assert failures(response) == [event["Records"][0]["messageId"]], "left for a later delivery"
