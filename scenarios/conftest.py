"""The checks run real code against the tests' real PostgreSQL and SQS endpoint (DATABASE_URL and
AWS_ENDPOINT_URL if set, else found or started), with the same fixtures as the test suite."""

import importlib
import sys
import uuid

import pytest

from devstack import ROOT as TREE_UNDER_TEST
from taskflow.settings import get_settings
from tests.conftest import *  # noqa: F403 (the suite's fixtures)

LAMBDA_DIR = TREE_UNDER_TEST / "lambda"  # the candidate's workspace, or this checkout


@pytest.fixture
def handler(monkeypatch, database_url, queue, sqs_endpoint):  # noqa: F811
    """lambda/handler.py of this working tree, imported fresh against the test database and queue."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("AWS_ENDPOINT_URL", sqs_endpoint)
    monkeypatch.setenv("QUEUE_NAME", queue.name)
    monkeypatch.syspath_prepend(str(LAMBDA_DIR))
    get_settings.cache_clear()
    sys.modules.pop("handler", None)
    yield importlib.import_module("handler")
    sys.modules.pop("handler", None)
    get_settings.cache_clear()


@pytest.fixture
def tenant_id(sessions):  # noqa: F811
    """A tenant of this check's own."""
    from taskflow.services.api_keys import create_api_key

    with sessions() as session:
        api_key, _ = create_api_key(session=session, tenant_name=f"scenario-{uuid.uuid4().hex[:8]}", key_name="check")
        session.commit()
        return api_key.tenant_id


@pytest.fixture
def new_task(sessions, tenant_id):  # noqa: F811
    """Save a queued task of `task_type` and return the body of the message that dispatches it."""
    from taskflow.clock import utc_now
    from taskflow.db.models import Task
    from taskflow.domain.messages import TaskMessage

    def make(task_type: str, payload: dict) -> tuple[uuid.UUID, str]:
        now = utc_now()
        task = Task(
            id=uuid.uuid4(), tenant_id=tenant_id, type=task_type, payload=payload, status="queued", attempts=0,
            version=1, dispatched_version=1, correlation_id="scenario", created_at=now, updated_at=now,
        )  # fmt: skip
        with sessions() as session:
            session.add(task)
            session.commit()
        return task.id, TaskMessage(task_id=task.id, version=1, correlation_id="scenario").to_body()

    return make


def sqs_event(*bodies: str) -> dict:
    """An SQS event in the shape AWS sends, one record per body."""
    from tests.integration.lambda_events import event_for

    return event_for(*bodies)


class Context:
    """The bits of a Lambda context the handler reads."""

    function_name = "task-consumer"
    function_version = "$LATEST"
    invoked_function_arn = "arn:aws:lambda:us-east-1:000000000000:function:task-consumer"
    memory_limit_in_mb = 512
    aws_request_id = "scenario"
    log_group_name = log_stream_name = "scenario"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def poll_once(handler, sqs_client, url: str, arn: str, wait_seconds: int) -> list[tuple[str, bool]]:
    """One poll of the event source mapping: receive a batch, invoke the function, delete every message it did not
    report failed (none if it raised: the whole batch comes back). Returns (body, deleted) for each message."""
    from esm.events import sqs_event as event_of
    from tests.conftest import REGION
    from tests.integration.lambda_events import failures

    messages = sqs_client.receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_seconds, AttributeNames=["All"]
    ).get("Messages", [])
    if not messages:
        return []
    try:
        failed = set(failures(handler.lambda_handler(event_of(messages, arn, REGION), Context())))
    except Exception:
        failed = {message["MessageId"] for message in messages}
    for message in messages:
        if message["MessageId"] not in failed:
            sqs_client.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
    return [(message["Body"], message["MessageId"] not in failed) for message in messages]
