"""`make up` as a Docker user runs it: tasks go through the API, the relay, LocalStack's SQS, our event source
mapping and the Lambda containers; a container restarted mid-run loses and repeats nothing; the stack stops in
its grace period and `make down VOLUMES=1` leaves nothing behind. The tests run in this order, on one stack."""

import json
import subprocess
import time
import uuid
from datetime import datetime

import boto3
import httpx
import pytest

from tests.compose.conftest import FIGURES, ComposeStack
from tests.waiting import wait_until

RESTART_RUN = 200
# Docker's exit code for a container it had to kill when the grace period ran out.
KILLED = 137


def create(stack: ComposeStack, text: str = "The quick brown fox.", body: dict | None = None) -> str:
    body = body or {"type": "word_stats", "payload": {"text": text}}
    created = stack.api.post("/tasks", json=body, headers={"X-API-Key": stack.key})
    assert created.status_code == 201, created.text
    return created.json()["id"]


def task(stack: ComposeStack, task_id: str) -> dict:
    return stack.api.get(f"/tasks/{task_id}", headers={"X-API-Key": stack.key}).raise_for_status().json()


def metric(stack: ComposeStack, port_variable: str, name: str, labels: str = "") -> float:
    """The sum of the samples of `name` on a service's /metrics whose labels include `labels` (`result="ok"`)."""
    text = httpx.get(f"{stack.url(port_variable)}/metrics", timeout=5).text
    return sum(float(line.rsplit(" ", 1)[1]) for line in text.splitlines()
               if line.startswith(name) and line[len(name)] in " {" and labels in line)  # fmt: skip


def sqs(stack: ComposeStack):
    return boto3.client("sqs", endpoint_url=stack.url("LOCALSTACK_PORT"), region_name="us-east-1",
                        aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip


def test_a_task_succeeds_through_the_lambda_containers_and_the_mapping_counts_the_invocation(compose_stack):
    invocations = metric(compose_stack, "ESM_METRICS_PORT", "taskflow_consumer_invocations_total")
    task_id = create(compose_stack)
    done = wait_until(lambda: (found := task(compose_stack, task_id))["status"] == "succeeded" and found, 60,
                      "the task succeeding")  # fmt: skip
    assert done["result"]["words"] == 4 and done["attempts"] == 1
    took = datetime.fromisoformat(done["finished_at"]) - datetime.fromisoformat(done["created_at"])
    FIGURES["a task's create -> succeeded"] = f"{took.total_seconds() * 1000:.0f} ms"
    assert metric(compose_stack, "ESM_METRICS_PORT", "taskflow_consumer_invocations_total") > invocations
    handled = compose_stack.compose("logs", "--no-color", "lambda", "lambda-2").stdout
    assert task_id in handled, "no Lambda container logged the task"


def test_a_malformed_message_ends_in_the_dead_letter_queue_and_the_relay_records_it(compose_stack):
    client = sqs(compose_stack)
    queue_url = client.get_queue_url(QueueName="taskflow-tasks")["QueueUrl"]
    garbage = f"not a task {uuid.uuid4()}"
    returned = metric(compose_stack, "ESM_METRICS_PORT", "taskflow_consumer_messages_total", 'result="returned"')
    client.send_message(QueueUrl=queue_url, MessageBody=garbage)

    def recorded() -> bool:
        # The relay takes every message off the dead-letter queue into the database: reading the queue here would
        # race it. Where an operator looks instead: `taskflow dead-letters list`, in a one-off container.
        listed = compose_stack.compose("run", "--rm", "--no-deps", "migrate", "python", "-m", "cli", "dead-letters",
                                       "list").stdout  # fmt: skip
        return garbage in listed

    wait_until(recorded, 150, "the malformed message recorded as a dead letter")
    # Handed back once per receive until the queue's maxReceiveCount (5) moved it; the containers log why (EMF).
    assert metric(compose_stack, "ESM_METRICS_PORT", "taskflow_consumer_messages_total",
                  'result="returned"') >= returned + 5  # fmt: skip
    assert "MessagesRefused" in compose_stack.compose("logs", "--no-color", "lambda", "lambda-2").stdout


@pytest.mark.timeout(480)  # the batch the restart ends comes back after the visibility timeout (180 s)
def test_restarting_a_lambda_container_mid_run_loses_no_task_and_runs_none_twice(compose_stack):
    failed = metric(compose_stack, "ESM_METRICS_PORT", "taskflow_consumer_invocations_total", 'result="failed"')
    # Reports of a quarter of a second: the run lasts some 25 s on two containers, however fast they are, so the
    # restart always lands mid-run (word_stats tasks were all done before it, once the consumer got faster).
    ids = [create(compose_stack, body={"type": "report", "payload": {"title": f"run {n}", "seconds": 0.25}})
           for n in range(RESTART_RUN)]  # fmt: skip
    wait_until(lambda: sum(task(compose_stack, i)["status"] == "succeeded" for i in ids[:40]) >= 20, 60,
               "the run under way")  # fmt: skip
    restarted = time.monotonic()
    compose_stack.compose("restart", "lambda")
    FIGURES["docker compose restart lambda"] = f"{time.monotonic() - restarted:.1f} s"
    unfinished = [i for i in ids if task(compose_stack, i)["status"] != "succeeded"]
    assert unfinished, "the run ended before the restart: nothing was tested"
    wait_until(lambda: all(task(compose_stack, i)["status"] == "succeeded" for i in unfinished), 300,
               f"all {RESTART_RUN} tasks succeeding")  # fmt: skip
    FIGURES[f"{RESTART_RUN} tasks with a restart, to the last succeeded"] = f"{time.monotonic() - restarted:.1f} s"
    # The emulator ends the invocation it was running when stopped, as AWS's does: at most that one fails (its
    # batch comes back after the visibility timeout). Every other batch waited for the container to come back.
    ended = metric(compose_stack, "ESM_METRICS_PORT", "taskflow_consumer_invocations_total", 'result="failed"')
    assert ended - failed <= 1, f"{ended - failed:.0f} invocations failed: more than the one the restart ended"
    for task_id in ids:
        events = compose_stack.api.get(f"/tasks/{task_id}/events", headers={"X-API-Key": compose_stack.key}).json()
        succeeded = [event for event in events if event["to_status"] == "succeeded"]
        assert len(succeeded) == 1, f"task {task_id} succeeded {len(succeeded)} times: {json.dumps(events)}"


def test_docker_compose_stop_takes_each_service_down_within_its_grace_period(compose_stack):
    stopping = time.monotonic()
    compose_stack.compose("stop")
    FIGURES["docker compose stop"] = f"{time.monotonic() - stopping:.1f} s"
    compose_stack.save_logs()  # the last chance: the next test removes the containers
    killed = [c["Names"] for c in compose_stack.containers() if exit_code(c["ID"]) == KILLED]
    assert killed == [], f"Docker had to kill {killed} when its grace period ran out"


def exit_code(container: str) -> int:
    found = subprocess.run(["docker", "inspect", "--format", "{{.State.ExitCode}}", container], capture_output=True,
                           text=True, check=True)  # fmt: skip
    return int(found.stdout)


def test_make_down_with_volumes_leaves_nothing_behind(compose_stack):
    compose_stack.make("down", "VOLUMES=1")
    label = f"label=com.docker.compose.project={compose_stack.project}"
    assert compose_stack.containers() == []
    for kind in ("volume", "network"):
        left = subprocess.run(["docker", kind, "ls", "--quiet", "--filter", label], capture_output=True, text=True,
                              check=True).stdout.split()  # fmt: skip
        assert left == [], f"make down VOLUMES=1 left {kind}s {left}"
