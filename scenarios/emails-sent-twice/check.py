"""Hidden check: a message delivered twice runs its task's function once, and the lease protects only a consumer
that is alive: a task whose consumer crashed is still run (once more), or failed on its last attempt.

The guards (tests/integration/test_consumer.py: a copy arriving while another consumer holds the task's live lease
is left in batchItemFailures; tests/integration/test_consumer_metrics.py: it is counted as refused) cover the second
copy itself; these tests cover what a fix must not break."""

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


def claimed_by_a_crashed_consumer(sessions, task_id, attempts: int) -> None:
    """The task looks as a consumer left it when it died mid-run: running, its lease ran out a second ago."""
    from sqlalchemy import func

    from taskflow.clock import utc_now
    from taskflow.db.models import Task

    with sessions() as session:
        task = session.get(Task, task_id)
        task.status, task.attempts, task.started_at = "running", attempts, utc_now()
        task.lease_expires_at = func.now() - timedelta(seconds=1)
        session.commit()


def stored(sessions, task_id):
    from taskflow.db.models import Task

    with sessions() as session:
        return session.get(Task, task_id)


def test_a_duplicate_delivery_sends_the_email_once(handler, new_task, sessions):
    task_id, body = new_task("scenario_send_email", {"to": "ada@example.com"})
    sent.clear()
    # SQS's at-least-once delivery: both copies of the message arrive in one batch.
    response = handler.lambda_handler(sqs_event(body, body), Context())
    assert sent == ["ada@example.com"], f"the email went out {len(sent)} times"
    assert failures(response) == [], "the second copy finds the task finished and is acknowledged"

    from taskflow.db.models import TaskEvent

    with sessions() as session:
        runs = session.query(TaskEvent).filter_by(task_id=task_id, to_status="running").count()
    assert runs == 1


def test_the_email_of_a_task_whose_consumer_crashed_is_sent_once_its_lease_expired(handler, new_task, sessions):
    task_id, body = new_task("scenario_send_email", {"to": "alan@example.com"})
    claimed_by_a_crashed_consumer(sessions, task_id, attempts=1)
    sent.clear()
    response = handler.lambda_handler(sqs_event(body), Context())
    assert sent == ["alan@example.com"], "nobody will ever run a task whose consumer died: its lease has expired"
    assert failures(response) == []
    task = stored(sessions, task_id)
    assert (task.status, task.attempts, task.lease_expires_at) == ("succeeded", 2, None)


def test_a_task_whose_consumer_crashed_on_its_last_attempt_is_failed_not_sent_again(handler, new_task, sessions):
    from taskflow.task_types import get_task_type

    task_id, body = new_task("scenario_send_email", {"to": "edsger@example.com"})
    claimed_by_a_crashed_consumer(sessions, task_id, attempts=get_task_type("scenario_send_email").retry.max_attempts)
    sent.clear()
    response = handler.lambda_handler(sqs_event(body), Context())
    assert sent == [], "a task out of attempts ran once more"
    assert failures(response) == [], "acknowledged: nothing is left to try"
    assert stored(sessions, task_id).status == "failed"
