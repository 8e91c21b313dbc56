import uuid
from dataclasses import dataclass

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from api.main import create_app
from api.settings import ApiSettings
from taskflow.db.models import OutboxMessage, Task, TaskEvent
from taskflow.services.api_keys import create_api_key
from taskflow.services.creation import new_task as valid_new_task
from taskflow.services.creation import save_task

pytestmark = pytest.mark.integration


@dataclass(frozen=True)
class ApiCredentials:
    id: uuid.UUID
    key: str


@pytest.fixture(scope="session")
def tenant(sessions) -> ApiCredentials:
    """A tenant of the test run's own, with an API key."""
    with sessions() as session:
        api_key, key = create_api_key(session=session, tenant_name=f"tenant-{uuid.uuid4().hex[:8]}", key_name="tests")
    return ApiCredentials(api_key.tenant_id, key)


@pytest.fixture
def client(database_url, sqs_endpoint, queue, tenant):
    """The API, for the test tenant, on the test database and the test's own queue."""
    settings = ApiSettings(database_url=database_url, aws_endpoint_url=sqs_endpoint, queue_name=queue.name)
    with TestClient(create_app(settings), headers={"X-API-Key": tenant.key}) as client:
        yield client


@pytest.fixture
def app_for_other_tenant(database_url, sqs_endpoint, queue, sessions):
    """The API as seen by a second tenant."""
    with sessions() as session:
        _, key = create_api_key(session=session, tenant_name=f"other-{uuid.uuid4().hex[:8]}", key_name="tests")
    settings = ApiSettings(database_url=database_url, aws_endpoint_url=sqs_endpoint, queue_name=queue.name)
    with TestClient(create_app(settings), headers={"X-API-Key": key}) as client:
        yield client


@pytest.fixture
def api_create_task(sessions, tenant):
    """Create a task for the test tenant as the API does: validated, then saved on an autocommit connection."""
    autocommit = sessions.kw["bind"].execution_options(isolation_level="AUTOCOMMIT")

    def call(**kwargs) -> Task:
        new = valid_new_task(tenant_id=tenant.id, **kwargs)
        with autocommit.connect() as connection:
            return save_task(connection, new).task

    return call


@pytest.fixture
def new_task(api_create_task):
    """Create a task through the service, as the API does; returns a function."""

    def make(task_type: str = "word_stats", payload: dict | None = None, priority: int = 0) -> Task:
        return api_create_task(
            task_type=task_type,
            payload=payload or {"text": "one two two"},
            priority=priority,
            correlation_id=f"test-{uuid.uuid4().hex[:8]}",
        )

    return make


@pytest.fixture
def read(sessions):
    """Fresh reads of a task, its events and its outbox rows."""

    class Reader:
        def task(self, task_id) -> Task:
            with sessions() as session:
                return session.get(Task, task_id)

        def events(self, task_id) -> list[TaskEvent]:
            with sessions() as session:
                return list(
                    session.scalars(select(TaskEvent).where(TaskEvent.task_id == task_id).order_by(TaskEvent.id))
                )

        def outbox(self, task_id) -> list[OutboxMessage]:
            with sessions() as session:
                return list(session.scalars(select(OutboxMessage).where(OutboxMessage.task_id == task_id)))

    return Reader()


@pytest.fixture(scope="session")
def handler(database_url, sqs_endpoint):
    """The Lambda handler, loaded from lambda/ the way the Lambda runtime loads it, using the test database as the
    consumer's own role."""
    from devstack import ROOT
    from esm.invokers import InProcessInvoker
    from taskflow.settings import get_settings

    with pytest.MonkeyPatch.context() as env:
        env.setenv("DATABASE_URL", database_url)
        env.setenv("AWS_ENDPOINT_URL", sqs_endpoint)
        env.setenv("DATABASE_ROLE", "taskflow_consumer")  # the grants the consumer has on AWS, as make dev's
        get_settings.cache_clear()
        invoker = InProcessInvoker(ROOT / "lambda", "handler.lambda_handler", function_name="test", timeout_seconds=30)
    get_settings.cache_clear()
    return invoker
