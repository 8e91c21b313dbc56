"""Hidden check: one unreadable message in a batch fails alone; the good tasks beside it run."""

from scenarios.conftest import Context, sqs_event
from tests.integration.lambda_events import failures


def test_a_poison_message_fails_alone_and_its_neighbours_run(handler, new_task, sessions):
    first_id, first = new_task("word_stats", {"text": "first order"})
    second_id, second = new_task("word_stats", {"text": "second order"})
    event = sqs_event(first, "{not json: a truncated message", second)
    poison_id = event["Records"][1]["messageId"]

    response = handler.lambda_handler(event, Context())

    assert failures(response) == [poison_id]
    from taskflow.db.models import Task

    with sessions() as session:
        assert {session.get(Task, i).status for i in (first_id, second_id)} == {"succeeded"}
