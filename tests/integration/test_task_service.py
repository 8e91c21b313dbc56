"""Creating and listing tasks against a real PostgreSQL."""

import pytest
from sqlalchemy import func, select

from taskflow.db.models import Task
from taskflow.domain.errors import InvalidTaskRequest
from taskflow.domain.messages import TaskMessage
from taskflow.services.listing import TaskFilter, list_tasks


def test_creating_a_task_writes_the_task_its_first_event_and_its_outbox_message(new_task, read):
    task = new_task(payload={"text": "hello"})
    stored = read.task(task.id)
    assert (stored.status, stored.version, stored.attempts) == ("pending", 1, 0)
    assert stored.payload == {"text": "hello", "top": 5}
    assert [(e.from_status, e.to_status) for e in read.events(task.id)] == [(None, "pending")]
    [outbox] = read.outbox(task.id)
    assert outbox.published_at is None
    assert TaskMessage.from_body(outbox.body) == TaskMessage(
        task_id=task.id, version=1, correlation_id=task.correlation_id, type="word_stats"
    )
    assert outbox.attributes["correlation_id"]["StringValue"] == task.correlation_id


def test_an_invalid_task_writes_nothing(sessions, api_create_task):
    with sessions() as session:
        before = session.scalar(select(func.count()).select_from(Task))
    with pytest.raises(InvalidTaskRequest):
        api_create_task(task_type="word_stats", payload={"text": ""}, correlation_id="c")
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Task)) == before


def test_the_created_task_is_what_the_database_holds_column_for_column(new_task, read):
    created = new_task(payload={"text": "hello"})
    stored = read.task(created.id)
    for column in Task.__table__.columns:
        assert getattr(created, column.key) == getattr(stored, column.key), column.key


def test_listing_pages_through_every_task_newest_first_without_gaps_or_repeats(sessions, new_task, tenant):
    mine = {new_task().id for _ in range(7)}
    seen, cursor, pages = [], None, 0
    while True:
        with sessions() as session:
            page = list_tasks(session, filters=TaskFilter(tenant_id=tenant.id), limit=3, cursor=cursor)
        seen.extend(page.tasks)
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    ids = [t.id for t in seen]
    assert len(ids) == len(set(ids)), "a task appeared on two pages"
    assert mine <= set(ids)
    keys = [(t.created_at, t.id) for t in seen]
    assert keys == sorted(keys, reverse=True)
    assert pages >= 3
