"""Hidden check: a record that could not be handled is reported in batchItemFailures, so SQS keeps it."""

from scenarios.conftest import Context, sqs_event
from tests.integration.lambda_events import failures


def test_refused_records_are_reported_failed_so_sqs_redelivers_them(handler, new_task, sessions):
    busy_id, busy = new_task("word_stats", {"text": "held by another consumer"})
    from datetime import timedelta

    from sqlalchemy import func

    from taskflow.clock import utc_now
    from taskflow.db.models import Task

    with sessions() as session:  # another consumer holds this task right now
        task = session.get(Task, busy_id)
        task.status, task.started_at, task.lease_expires_at = "running", utc_now(), func.now() + timedelta(minutes=1)
        session.commit()
    _, good = new_task("word_stats", {"text": "fine"})
    event = sqs_event(busy, "not a task message", good)
    ids = [record["messageId"] for record in event["Records"]]

    response = handler.lambda_handler(event, Context())

    assert sorted(failures(response)) == sorted(ids[:2])
