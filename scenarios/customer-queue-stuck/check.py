"""Hidden check: through a real queue, an unreadable message among a customer's good ones fails alone: the good
tasks run and their messages are deleted at the first delivery, and the poison comes back at once, again and
again, until the queue dead-letters it, alone.

The guards cover the handler's response to such a batch (tests/integration/test_consumer.py), its metrics
(tests/integration/test_consumer_metrics.py) and a poison on its own reaching the dead-letter queue
(tests/integration/test_retries.py); this follows a mixed batch through SQS, deleting what the response does not
report failed, as the event source mapping does."""

import uuid

import pytest

from devstack.queues import provision_queues
from scenarios.conftest import poll_once
from tests.conftest import REGION

MAX_RECEIVE_COUNT = 3
# Long enough that a message made visible again at once is told apart from one back after the timeout.
VISIBILITY_TIMEOUT = 30
POISON = "{not json: a truncated message"


@pytest.fixture
def acme_queue(sqs_endpoint, sqs_client):
    """A queue and its dead-letter queue of this check's own, dead-lettering after MAX_RECEIVE_COUNT receives."""
    name = f"scenario-{uuid.uuid4().hex[:12]}"
    urls = provision_queues(
        sqs_endpoint, REGION, name, max_receive_count=MAX_RECEIVE_COUNT, visibility_timeout_seconds=VISIBILITY_TIMEOUT
    )
    arn = sqs_client.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    yield urls[name], urls[f"{name}-dlq"], arn
    for url in urls.values():
        sqs_client.delete_queue(QueueUrl=url)


def deliver(handler, sqs_client, url: str, arn: str, wait_seconds: int) -> list[str]:
    """One poll of the event source mapping (scenarios.conftest.poll_once): the bodies received."""
    return [body for body, _ in poll_once(handler, sqs_client, url, arn, wait_seconds)]


def test_the_poison_is_dead_lettered_alone_and_the_good_tasks_beside_it_run(
    handler, new_task, sessions, sqs_client, acme_queue
):
    url, dlq_url, arn = acme_queue
    first_id, first = new_task("word_stats", {"text": "first order"})
    second_id, second = new_task("word_stats", {"text": "second order"})
    for body in (first, POISON, second):
        sqs_client.send_message(QueueUrl=url, MessageBody=body)

    received = []
    for _ in range(6):  # the first delivery of all three, in however many batches SQS hands them out
        received += deliver(handler, sqs_client, url, arn, wait_seconds=1)
        if {first, POISON, second} <= set(received):
            break
    from taskflow.db.models import Task

    with sessions() as session:
        statuses = {session.get(Task, task_id).status for task_id in (first_id, second_id)}
    assert statuses == {"succeeded"}, f"acme's good tasks are {statuses}"

    # Only the poison is left, and it comes straight back (not after the visibility timeout) until SQS gives up.
    while (again := deliver(handler, sqs_client, url, arn, wait_seconds=3)) and len(received) < 20:
        assert again == [POISON], f"delivered again: {again}"
        received += again
    assert received.count(POISON) == MAX_RECEIVE_COUNT, f"the poison was delivered {received.count(POISON)} times"
    dead = sqs_client.receive_message(QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
    assert [message["Body"] for message in dead] == [POISON], "the dead-letter queue holds the poison, and only it"
