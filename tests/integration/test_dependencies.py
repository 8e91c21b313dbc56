"""Tasks that run after others (`after`), against a real PostgreSQL: waiting without a message, released in the
transaction of the last prerequisite's success, cancelled when one fails or is cancelled; and the races a finish
and a create can run into."""

import threading
import uuid
from datetime import timedelta

import pytest
from pydantic import BaseModel
from sqlalchemy import func, select

from taskflow.db.models import Task
from taskflow.domain.errors import PrerequisiteFailed, TaskFailed, UnknownPrerequisite
from taskflow.domain.states import TaskStatus
from taskflow.services.creation import new_task as valid_new_task
from taskflow.services.creation import write_waiting_task
from taskflow.services.deadline import Deadline
from taskflow.services.processing import TaskRunner
from taskflow.services.transitions import move_task
from taskflow.task_types import TaskContext, task_type
from tests.integration.lambda_events import body_of, event_for, set_running
from tests.integration.locks import blocked_on_a_lock
from tests.integration.test_api_lifecycle import problem_type
from tests.waiting import wait_until


class Nothing(BaseModel):
    pass


@task_type("test_always_fails", Nothing)
def always_fails(payload: Nothing, context: TaskContext) -> dict:
    """Refuses its input, every time."""
    raise TaskFailed("this one never works")


@pytest.fixture
def create(api_create_task):
    """Create a word_stats task through the service, optionally after others; returns a function."""

    def make(*after: Task | uuid.UUID, task_type: str = "word_stats") -> Task:
        payload = {"text": "after you"} if task_type == "word_stats" else {}
        after_ids = [t if isinstance(t, uuid.UUID) else t.id for t in after]
        return api_create_task(task_type=task_type, payload=payload, correlation_id="test-after", after=after_ids)

    return make


def run(handler, read, task: Task) -> Task:
    """Deliver the task's current message to the consumer; the task as stored afterwards."""
    handler.invoke(event_for(body_of(read.task(task.id))))
    return read.task(task.id)


def test_a_diamond_runs_in_order(create, handler, read):
    a = create()
    b, c = create(a), create(a)
    d = create(b, c)
    assert [read.task(t.id).status for t in (b, c, d)] == ["waiting"] * 3
    assert read.outbox(b.id) == [] and read.outbox(d.id) == [], "no message until released"

    assert run(handler, read, a).status == "succeeded"
    assert [read.task(t.id).status for t in (b, c, d)] == ["pending", "pending", "waiting"]
    assert len(read.outbox(b.id)) == 1 and read.task(b.id).dispatched_version == read.task(b.id).version
    run(handler, read, b)
    assert read.task(d.id).status == "waiting", "C has not succeeded yet"
    run(handler, read, c)
    assert read.task(d.id).status == "pending" and len(read.outbox(d.id)) == 1
    assert run(handler, read, d).status == "succeeded"
    events = read.events(d.id)
    assert [(e.from_status, e.to_status) for e in events[:2]] == [(None, "waiting"), ("waiting", "pending")]
    assert events[1].correlation_id == read.task(c.id).correlation_id, "released by C's success"


def test_a_failure_cancels_what_waits_for_it_and_what_waits_for_that(create, handler, read):
    a = create(task_type="test_always_fails")
    b = create(a)
    c = create(b)
    other = create()
    d = create(a, other)
    assert run(handler, read, a).status == "failed"
    for waiting, cause in ((b, a), (c, b), (d, a)):
        stored = read.task(waiting.id)
        how = "failed" if cause is a else "cancelled"
        assert (stored.status, stored.error) == ("cancelled", f"task {cause.id}, which it runs after, {how}")
        assert read.events(waiting.id)[-1].detail["after"] == str(cause.id)
    assert read.task(other.id).status == "pending", "a task d waited for is not touched"


def test_cancelling_a_waiting_task_cancels_what_waits_for_it(client, create, read):
    a = create()
    b = create(a)
    c = create(b)
    cancelled = client.post(f"/tasks/{b.id}/cancel")
    assert cancelled.json()["status"] == "cancelled"
    assert read.task(c.id).status == "cancelled" and read.task(a.id).status == "pending"


def test_tasks_after_ones_already_succeeded_are_released_at_once(create, handler, read):
    a = create()
    run(handler, read, a)
    b = create(a)
    assert b.status == "pending" and len(read.outbox(b.id)) == 1
    assert [e.to_status for e in read.events(b.id)] == ["waiting", "pending"]


def test_a_task_after_a_failed_one_is_refused_and_nothing_is_saved(client, create, handler, read, sessions):
    failed = create(task_type="test_always_fails")
    run(handler, read, failed)
    with pytest.raises(PrerequisiteFailed, match=f"task {failed.id} is failed"):
        create(failed)
    response = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "x"}, "after": [str(failed.id)]})
    assert (response.status_code, problem_type(response)) == (409, "prerequisite-failed")
    with sessions() as session:
        assert session.scalar(select(func.count()).where(Task.after_ids.contains([failed.id]))) == 0


def test_another_tenants_task_looks_like_no_task_at_all(client, app_for_other_tenant, create):
    theirs = app_for_other_tenant.post("/tasks", json={"type": "word_stats", "payload": {"text": "mine"}}).json()
    answers = []
    for task_id in (theirs["id"], str(uuid.uuid4())):
        response = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "x"}, "after": [task_id]})
        assert (response.status_code, problem_type(response)) == (422, "unknown-prerequisite")
        answers.append(response.json()["detail"].replace(task_id, "ID"))
    assert answers[0] == answers[1]
    with pytest.raises(UnknownPrerequisite):
        create(uuid.UUID(theirs["id"]))


def test_after_is_shown_deduplicated_validated_and_replayed_with_its_key(client, create):
    a, b = create(), create()
    body = {"type": "word_stats", "payload": {"text": "x"}, "after": [str(b.id), str(a.id), str(b.id)]}
    first = client.post("/tasks", json=body, headers={"Idempotency-Key": f"after-{uuid.uuid4()}"})
    assert first.status_code == 201, first.text
    assert (first.json()["status"], sorted(first.json()["after"])) == ("waiting", sorted([str(a.id), str(b.id)]))
    key = first.request.headers["Idempotency-Key"]
    again = client.post("/tasks", json=body, headers={"Idempotency-Key": key})
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])
    other = client.post("/tasks", json={**body, "after": [str(a.id)]}, headers={"Idempotency-Key": key})
    assert (other.status_code, problem_type(other)) == (422, "idempotency-key-reused")
    assert client.get(f"/tasks/{a.id}").json()["after"] == []
    listed = client.get("/tasks", params={"status": "waiting", "limit": 200}).json()["items"]
    assert sorted(next(t["after"] for t in listed if t["id"] == first.json()["id"])) == sorted([str(a.id), str(b.id)])
    for bad in (["not-a-uuid"], [str(uuid.uuid4())] * 101, "x"):
        response = client.post("/tasks", json={**body, "after": bad})
        assert response.status_code == 422 and response.headers["content-type"] == "application/problem+json"


def test_a_waiting_task_can_be_edited_and_keeps_its_new_run_time_for_its_release(client, create, handler, read):
    a = create()
    b = create(a)
    edited = client.patch(f"/tasks/{b.id}", json={"delay_seconds": 3600, "priority": 8}, headers={"If-Match": "*"})
    assert edited.status_code == 200, edited.text
    assert (edited.json()["status"], edited.json()["priority"]) == ("waiting", 8)
    assert read.outbox(b.id) == []
    run(handler, read, a)
    released = read.task(b.id)
    assert released.status == "scheduled" and read.outbox(b.id)[0].due_at == released.run_at


def finish_at_once(sessions, task_ids: list[uuid.UUID]) -> None:
    """Move each running task to succeeded, each in a thread of its own, all starting together."""
    barrier = threading.Barrier(len(task_ids))
    errors = []

    def finish(task_id):
        try:
            with sessions() as session:
                task = session.get(Task, task_id, with_for_update=True)
                barrier.wait(10)
                move_task(session, task, TaskStatus.SUCCEEDED)
                session.commit()
        except Exception as error:  # noqa: BLE001 - reported below, in the test's thread
            errors.append(error)

    threads = [threading.Thread(target=finish, args=(task_id,)) for task_id in task_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []


def test_prerequisites_finishing_at_the_same_moment_release_the_task_exactly_once(create, sessions, read):
    for _ in range(15):
        prerequisites = [create() for _ in range(3)]
        waiting = create(*prerequisites)
        for task in prerequisites:
            set_running(sessions, task.id, lease_ends_in=timedelta(minutes=1))
        finish_at_once(sessions, [t.id for t in prerequisites])
        assert read.task(waiting.id).status == "pending", "released, not forgotten"
        assert len(read.outbox(waiting.id)) == 1, "released once"
        assert [e.to_status for e in read.events(waiting.id)] == ["waiting", "pending"]


def test_a_create_racing_the_last_prerequisites_success_is_never_left_waiting(create, sessions, read):
    for _ in range(15):
        prerequisite = create()
        set_running(sessions, prerequisite.id, lease_ends_in=timedelta(minutes=1))
        created = []
        finisher = threading.Thread(target=finish_at_once, args=(sessions, [prerequisite.id]))
        finisher.start()
        created.append(create(prerequisite))
        finisher.join(30)
        task = read.task(created[0].id)
        assert (task.status, len(read.outbox(task.id))) == ("pending", 1)


@pytest.mark.parametrize("ends", ["cancelled by its owner", "failed in the consumer"])
def test_a_chain_of_a_thousand_tasks_is_cancelled_in_one_pass(create, client, handler, read, ends):
    root = create(task_type="test_always_fails" if ends.startswith("failed") else "word_stats")
    chain = [root]
    for _ in range(1000):  # deeper than Python's recursion limit
        chain.append(create(chain[-1]))
    if ends.startswith("failed"):
        assert run(handler, read, root).status == "failed"
    else:
        assert client.post(f"/tasks/{root.id}/cancel").status_code == 200
    assert read.task(chain[-1].id).status == "cancelled"
    assert read.task(chain[-1].id).error == f"task {chain[-2].id}, which it runs after, cancelled"


GATE: dict[str, threading.Event] = {}


@task_type("test_gated", Nothing)
def gated(payload: Nothing, context: TaskContext) -> dict:
    """Says it runs, then waits until the test lets it finish."""
    GATE["running"].set()
    GATE["finish"].wait(10)
    return {}


def test_a_create_the_consumers_finish_waited_for_is_released_by_that_finish(create, sessions, read, tenant):
    # The consumer's finish is one statement, whose snapshot was taken before this create committed: it must still
    # see, on the row it waited for, that a task now waits for it (the create flags it), or the new task would wait
    # for good.
    prerequisite = create(task_type="test_gated")
    GATE.update(running=threading.Event(), finish=threading.Event())
    runner = TaskRunner(sessions, lease_margin=timedelta(seconds=5))
    body = body_of(read.task(prerequisite.id))
    consumer = threading.Thread(target=runner.handle, args=(body, Deadline(lambda: 30.0)))
    consumer.start()
    assert GATE["running"].wait(10), "claimed and running"
    new = valid_new_task(
        tenant_id=tenant.id,
        task_type="word_stats",
        payload={"text": "x"},
        correlation_id="test-race",
        after=[prerequisite.id],
    )
    with sessions() as creating:  # a create, held open: the prerequisite locked and flagged, the task written
        write_waiting_task(creating, new)
        GATE["finish"].set()
        wait_until(lambda: blocked_on_a_lock(sessions), 10, "the consumer's finish waiting for the create's lock")
        creating.commit()
    consumer.join(30)
    assert read.task(prerequisite.id).status == "succeeded"
    released = read.task(new.task.id)
    assert (released.status, len(read.outbox(released.id))) == ("pending", 1)

