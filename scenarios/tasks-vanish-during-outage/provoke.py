"""An SQS outage: the task queue is gone for a few seconds (deleted, then provisioned again), so every call to it
fails, while clients create tasks. Fixed, the tasks are created and the relay publishes them once the queue is
back; with the fault, each create fails with a 5xx although its task was saved, and that task stays `pending`
for good."""

from devstack.queues import provision_queues
from scenarios.provoking import SymptomNotSeen

CREATES = 3


def provoke(stack) -> str:
    before = stack.server_errors("POST", "/tasks")
    sqs, name = stack.sqs, stack.env["QUEUE_NAME"]
    sqs.delete_queue(QueueUrl=sqs.get_queue_url(QueueName=name)["QueueUrl"])
    try:
        answers = [create(stack, number) for number in range(CREATES)]
    finally:
        provision_queues(stack.env["AWS_ENDPOINT_URL"], stack.env["AWS_REGION"], name)
    failed = stack.server_errors("POST", "/tasks")
    if failed < before + 1:
        raise SymptomNotSeen(f"every create answered during the outage: {answers}")
    return (f"during the outage POST /tasks answered {answers}; taskflow_http_requests_total of POST /tasks with a"
            f" 5xx status on the API's /metrics went from {before:g} to {failed:g}")  # fmt: skip


def create(stack, number: int) -> int:
    payload = {"type": "word_stats", "payload": {"text": f"Created during the outage, {number}."}}
    return stack.api.post("/tasks", json=payload).status_code
