import uuid

import pytest
from sqlalchemy import select

from taskflow.db.models import OutboxMessage, Task, TaskEvent
from taskflow.services.tasks import create_task

pytestmark = pytest.mark.integration


@pytest.fixture
def new_task(sessions):
    """Create a task through the service, as the API does; returns a function."""

    def make(task_type: str = "word_stats", payload: dict | None = None) -> Task:
        with sessions() as session:
            return create_task(
                session=session,
                task_type=task_type,
                payload=payload or {"text": "one two two"},
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
