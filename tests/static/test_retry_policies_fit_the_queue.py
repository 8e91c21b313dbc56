"""A task type retries no more often than the queue delivers a message: each retry is a redelivery of the same
message (its visibility postponed), and SQS dead-letters a message after maxReceiveCount receives. A type with
more attempts than that would be dead-lettered with attempts left (a send_email with eight did exactly that)."""

from devstack.queues import load_provision_script
from taskflow.task_types import all_task_types


def test_no_task_type_has_more_attempts_than_the_queue_has_receives():
    receives = load_provision_script().QUEUES["max_receive_count"]
    too_many = {kind.name: kind.retry.max_attempts for kind in all_task_types() if kind.retry.max_attempts > receives}
    assert too_many == {}, f"more attempts than the queue's maxReceiveCount ({receives}): {too_many}"
