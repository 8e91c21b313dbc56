"""A task's whole trip through the real processes: HTTP -> PostgreSQL -> outbox -> SQS -> Lambda handler -> result."""

import uuid

import boto3
import httpx

from taskflow.domain.messages import TaskMessage
from tests.conftest import REGION
from tests.waiting import wait_until

FINISHED = {"succeeded", "failed", "cancelled"}
GOOD_INVOICE = {
    "fields": {"Invoice #": "INV-9", "Date": "2024-02-29", "Net": "100,00 €", "MwSt": "19,00 €", "Gesamt": "119,00 €"}
}
BAD_INVOICE = {"fields": {"Invoice #": "INV-10", "Date": "2024-02-29", "Net": "100", "Tax": "19", "Total": "120"}}


def create(stack, task_type: str, payload: dict, request_id: str | None = None, priority: int = 0) -> dict:
    headers = {**stack.headers, **({"X-Request-ID": request_id} if request_id else {})}
    body = {"type": task_type, "payload": payload, "priority": priority}
    response = httpx.post(f"{stack.base_url}/tasks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()


def finished(stack, task_id: str) -> dict | None:
    task = httpx.get(f"{stack.base_url}/tasks/{task_id}", headers=stack.headers).json()
    return task if task["status"] in FINISHED else None


def test_tasks_created_over_http_are_run_by_the_consumer(stack):
    created = []
    for i in range(30):
        created.append(("succeeded", create(stack, "word_stats", {"text": f"task {i} says hello hello"})))
    for _ in range(5):
        created.append(("succeeded", create(stack, "invoice_fields", GOOD_INVOICE)))
        created.append(("failed", create(stack, "invoice_fields", BAD_INVOICE)))

    for expected, task in created:
        done = wait_until(lambda task=task: finished(stack, task["id"]), 15, f"task {task['id']} finishing")
        assert done["status"] == expected, done
        assert done["attempts"] == 1
        events = httpx.get(f"{stack.base_url}/tasks/{task['id']}/events", headers=stack.headers).json()
        statuses = [e["to_status"] for e in events]
        assert statuses[0] == "pending" and statuses[-2:] == ["running", expected]
    word = finished(stack, created[0][1]["id"])
    assert word["result"]["top_words"][0] == {"word": "hello", "count": 2}
    invoice = finished(stack, created[30][1]["id"])
    assert (invoice["result"]["total"], invoice["result"]["currency"]) == ("119.00", "EUR")
    assert "does not equal total" in finished(stack, created[31][1]["id"])["error"]


def test_the_request_id_follows_the_task_into_the_consumer_logs(stack):
    request_id = f"trace-{uuid.uuid4().hex[:8]}"
    task = create(stack, "word_stats", {"text": "follow me"}, request_id=request_id)
    wait_until(lambda: finished(stack, task["id"]), 10, "the task finishing")
    api_line = stack.wait_for_log('"service": "api"', request_id, "task created")
    consumer_line = stack.wait_for_log('"service":"task-consumer"', f'"correlation_id":"{request_id}"', task["id"])
    assert task["id"] in api_line and '"outcome":"succeeded"' in consumer_line


def test_a_redelivered_duplicate_is_acknowledged_and_does_not_run_twice(stack):
    task = create(stack, "word_stats", {"text": "only once"})
    first = wait_until(lambda: finished(stack, task["id"]), 10, "the task finishing")
    # What SQS does when the relay dies between sending and marking the row published: a second copy.
    sqs = boto3.client("sqs", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name=REGION)
    duplicate = TaskMessage(task_id=uuid.UUID(task["id"]), version=1, correlation_id=task["correlation_id"])
    sqs.send_message(QueueUrl=stack.queue_url, MessageBody=duplicate.to_body())

    stack.wait_for_log('"outcome":"already-finished"', task["id"])
    wait_until(lambda: _queue_is_empty(sqs, stack.queue_url), 10, "the duplicate being deleted")
    again = httpx.get(f"{stack.base_url}/tasks/{task['id']}", headers=stack.headers).json()
    assert again == first
    events = httpx.get(f"{stack.base_url}/tasks/{task['id']}/events", headers=stack.headers).json()
    assert [e["to_status"] for e in events].count("running") == 1


def _queue_is_empty(sqs, url: str) -> bool:
    counts = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )["Attributes"]
    return counts == {"ApproximateNumberOfMessages": "0", "ApproximateNumberOfMessagesNotVisible": "0"}
