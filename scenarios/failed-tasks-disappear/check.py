"""Hidden check: through a real queue, the message of a task another consumer holds is kept (not deleted), comes
back after the visibility timeout, and runs its task once that consumer is gone, with no sweep involved; the good
message beside it is deleted at its first delivery.

The guards cover the handler's response for each kind of refusal (a busy task, a malformed body, a record there is
no time for); this follows a refused message through SQS, deleting what the response does not report failed, as
the event source mapping does."""

import uuid
from datetime import timedelta

import pytest

from devstack.queues import provision_queues
from scenarios.conftest import poll_once
from tests.conftest import REGION

VISIBILITY_TIMEOUT = 2


@pytest.fixture
def short_queue(sqs_endpoint, sqs_client):
    """A queue of this check's own whose messages come back VISIBILITY_TIMEOUT seconds after a failed delivery."""
    name = f"scenario-{uuid.uuid4().hex[:12]}"
    urls = provision_queues(sqs_endpoint, REGION, name, visibility_timeout_seconds=VISIBILITY_TIMEOUT)
    arn = sqs_client.get_queue_attributes(QueueUrl=urls[name], AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    yield urls[name], arn
    for url in urls.values():
        sqs_client.delete_queue(QueueUrl=url)


def deliver(handler, sqs_client, url: str, arn: str, wait_seconds: int) -> dict[str, bool]:
    """One poll of the event source mapping (scenarios.conftest.poll_once): {body: deleted}."""
    return dict(poll_once(handler, sqs_client, url, arn, wait_seconds))


def hold(sessions, task_id, lease_ends_in: timedelta) -> None:
    """Another consumer claimed the task; its lease ends in `lease_ends_in` (negative: it died, the lease ran out)."""
    from sqlalchemy import func

    from taskflow.clock import utc_now
    from taskflow.db.models import Task

    with sessions() as session:
        task = session.get(Task, task_id)
        task.status, task.attempts, task.started_at = "running", 1, utc_now()
        task.lease_expires_at = func.now() + lease_ends_in
        session.commit()


def test_a_refused_message_is_kept_and_its_task_runs_once_the_other_consumer_is_gone(
    handler, new_task, sessions, sqs_client, short_queue
):
    from taskflow.db.models import Task

    url, arn = short_queue
    busy_id, busy = new_task("word_stats", {"text": "held by another consumer"})
    hold(sessions, busy_id, lease_ends_in=timedelta(minutes=1))
    good_id, good = new_task("word_stats", {"text": "fine"})
    for body in (busy, good):
        sqs_client.send_message(QueueUrl=url, MessageBody=body)

    first: dict[str, bool] = {}
    for _ in range(5):  # the first delivery of both, in however many batches SQS hands them out
        first |= deliver(handler, sqs_client, url, arn, wait_seconds=1)
        if {busy, good} <= first.keys():
            break
    assert first == {busy: False, good: True}, "kept: the refused message; deleted: the one that ran"
    with sessions() as session:
        assert session.get(Task, good_id).status == "succeeded"

    hold(sessions, busy_id, lease_ends_in=-timedelta(seconds=1))  # the other consumer died
    again = deliver(handler, sqs_client, url, arn, wait_seconds=VISIBILITY_TIMEOUT + 4)
    assert again == {busy: True}, f"after the visibility timeout, SQS delivered {again}"
    with sessions() as session:
        assert session.get(Task, busy_id).status == "succeeded", "the task ran from its own message, no sweep needed"
