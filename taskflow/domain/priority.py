"""Priorities the SQS way. SQS has none, so a task of high priority goes to a queue of its own, read by consumers
of its own (an event source mapping per queue, as on AWS): it never waits behind a backlog of the others."""

# Priorities run from 0 to 9; from this one up, a task's message goes to the high-priority queue.
HIGH_PRIORITY_FROM = 7
# The high-priority queue is named after the task queue (taskflow-tasks-high beside taskflow-tasks). The queues'
# one definition, localstack/init/ready.d/provision_queues.py, cannot import this package; a test holds them together.
HIGH_PRIORITY_QUEUE_SUFFIX = "-high"


def is_high_priority(priority: int) -> bool:
    """Whether a task of this priority goes to the high-priority queue."""
    return priority >= HIGH_PRIORITY_FROM


def high_priority_queue_name(queue_name: str) -> str:
    """The high-priority queue beside the task queue `queue_name`."""
    return f"{queue_name}{HIGH_PRIORITY_QUEUE_SUFFIX}"
