"""The compose path without Docker: the mapping invokes Lambda 'containers' over HTTP, as it invokes the `lambda`
services in compose, and each container runs the image's own command (awslambdaric) on the image's task root."""

import json
import uuid
from contextlib import ExitStack

import boto3
import psycopg

from taskflow.db.engine import libpq_url
from tests.conftest import REGION
from tests.e2e.conftest import running_stack
from tests.e2e.lambda_containers import lambda_container
from tests.e2e.test_task_flow import BAD_INVOICE, GOOD_INVOICE, create, finished
from tests.lambda_runtime_api import LambdaRuntimeApi
from tests.static.conftest import build_task_root
from tests.waiting import wait_until


def test_tasks_run_in_lambda_containers_invoked_over_http(postgres_server_url, sqs_endpoint, tmp_path):
    handler = build_task_root(tmp_path / "task-root")
    container_log = tmp_path / "lambda.log"
    with ExitStack() as stack_of:
        # Two containers for the task queue's mapping, two for the high-priority queue's.
        runtimes = [stack_of.enter_context(LambdaRuntimeApi()) for _ in range(4)]
        stack = stack_of.enter_context(running_stack(
            postgres_server_url,
            sqs_endpoint,
            tmp_path / "stack.log",
            env={"ESM_FUNCTION_URLS": json.dumps([r.function_url for r in runtimes]), "RECOVERY_INTERVAL_SECONDS": "1"},
        ))  # fmt: skip
        log = stack_of.enter_context(open(container_log, "w"))
        for runtime in runtimes:
            stack_of.enter_context(lambda_container(tmp_path / "task-root", handler, runtime, stack.env, log))
        expected = [("succeeded", create(stack, "word_stats", {"text": f"over http {i}"})) for i in range(20)]
        expected += [("succeeded", create(stack, "invoice_fields", GOOD_INVOICE))]
        expected += [("failed", create(stack, "invoice_fields", BAD_INVOICE))]
        expected += [("succeeded", create(stack, "word_stats", {"text": "urgent"}, priority=9))]
        sqs = boto3.client("sqs", endpoint_url=sqs_endpoint, region_name=REGION)
        poison = f"not a task message {uuid.uuid4()}"
        sqs.send_message(QueueUrl=stack.queue_url, MessageBody=poison)

        for status, task in expected:
            done = wait_until(lambda task=task: finished(stack, task["id"]), 20, f"task {task['id']} finishing")
            assert done["status"] == status, done
        # The malformed message was reported in batchItemFailures over HTTP, redelivered, then dead-lettered,
        # and the relay's sweep moved it from the dead-letter queue into the database.
        dead = wait_until(lambda: dead_letter_bodies(stack), 40, "the malformed message recorded as a dead letter")
        assert dead == [poison]

    assert runtimes[0].invocations + runtimes[1].invocations >= 1
    assert runtimes[2].invocations + runtimes[3].invocations == 1, "the priority-9 task, in a container of its queue's"
    consumer_lines = [line for line in container_log.read_text().splitlines() if '"service":"task-consumer"' in line]
    assert any(expected[0][1]["id"] in line and '"outcome":"succeeded"' in line for line in consumer_lines)


def dead_letter_bodies(stack) -> list[str]:
    with psycopg.connect(libpq_url(stack.env["DATABASE_URL"])) as connection:
        return [body for (body,) in connection.execute("SELECT body FROM dead_letters")]
