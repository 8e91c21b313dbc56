"""A client that crashed mid-request left a message that is not a task message on the queue, among good tasks.
With the fault, every batch holding it fails as a whole: the consumer's failed invocations climb and the good
tasks of the batch wait in `queued` (oldest queued task on the API's /metrics)."""

TASKS = 9


def provoke(stack) -> str:
    failed = stack.watch("consumer", "taskflow_consumer_invocations_total", result="failed")
    stack.send_to_queue('{"task_id": "a client crashed here')
    for number in range(TASKS):
        stack.create("word_stats", {"text": f"Order {number} for acme."})
    return failed.rises_by(1)
