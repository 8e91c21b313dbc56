"""Dead letters through the real processes: SQS gives up on messages of two tenants' tasks (and on a body that
names no task); the relay records them; concurrent readers of both tenants each see all of their own letters,
every time, and nothing else."""

from concurrent.futures import ThreadPoolExecutor

import boto3
import httpx

from devstack.dev_key import new_api_key
from taskflow.domain.messages import TaskMessage
from tests.conftest import REGION
from tests.e2e.conftest import running_stack
from tests.waiting import wait_until

READERS = 12
ROUNDS = 5


def create(stack, headers: dict) -> str:
    body = {"type": "word_stats", "payload": {"text": "x"}}
    return httpx.post(f"{stack.base_url}/tasks", json=body, headers=headers).json()["id"]


def letters(stack, headers: dict) -> set[str]:
    response = httpx.get(f"{stack.base_url}/dead-letters", params={"limit": 1000}, headers=headers)
    assert response.status_code == 200, response.text
    return {letter["task_id"] for letter in response.json()["items"]}


def test_concurrent_readers_of_two_tenants_each_see_all_of_their_letters_every_time(
    postgres_server_url, sqs_endpoint, tmp_path
):
    with running_stack(
        postgres_server_url, sqs_endpoint, tmp_path / "stack.log", {"RECOVERY_INTERVAL_SECONDS": "1"}
    ) as stack:
        stack.group.stop("esm")  # nothing consumes: the tasks wait, as tasks whose messages failed would
        first, second = stack.headers, {"X-API-Key": new_api_key(stack.env["DATABASE_URL"], "second-tenant")}
        mine = {create(stack, first) for _ in range(3)}
        theirs = {create(stack, second)}
        sqs = boto3.client("sqs", endpoint_url=stack.env["AWS_ENDPOINT_URL"], region_name=REGION)
        for task_id in mine | theirs:  # what SQS does after maxReceiveCount failed deliveries
            body = TaskMessage(task_id=task_id, version=1, correlation_id="dead").to_body()
            sqs.send_message(QueueUrl=f"{stack.queue_url}-dlq", MessageBody=body)
        sqs.send_message(QueueUrl=f"{stack.queue_url}-dlq", MessageBody="names no task")
        wait_until(lambda: letters(stack, first) == mine and letters(stack, second) == theirs, 30, "letters recorded")

        def read(reader: int) -> tuple[set[str], set[str]]:
            headers, expected = (first, mine) if reader % 2 else (second, theirs)
            return letters(stack, headers), expected

        with ThreadPoolExecutor(READERS) as readers:
            for _ in range(ROUNDS):
                for seen, expected in readers.map(read, range(READERS)):
                    assert seen == expected, "a reader missed its own letter or saw another tenant's"
        for task_id in mine | theirs:
            task = httpx.get(f"{stack.base_url}/tasks/{task_id}", headers=first if task_id in mine else second)
            assert task.json()["status"] == "failed" and task.json()["error"].startswith("dead-lettered")
