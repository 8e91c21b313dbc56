"""The Lambda handler itself, invoked with real-shaped SQS events, against a real PostgreSQL."""

import threading
import uuid
from datetime import timedelta

import pytest
from pydantic import BaseModel
from sqlalchemy import select

from esm.invokers import LocalLambdaContext
from taskflow.clock import utc_now
from taskflow.db.models import Task
from taskflow.domain.errors import TaskBusy, TaskFailed
from taskflow.domain.messages import TaskMessage
from taskflow.domain.states import TaskStatus
from taskflow.services.deadline import Deadline
from taskflow.services.dispatching import enqueue
from taskflow.services.processing import Outcome, TaskRunner
from taskflow.services.transitions import move_task
from taskflow.task_types import TaskContext, task_type
from tests.integration.lambda_events import body_of, event_for, failures, set_running
from tests.integration.locks import blocked_on_a_lock
from tests.waiting import wait_until

SPIED: dict = {}


class Nothing(BaseModel):
    pass


@task_type("test_lease_spy", Nothing)
def lease_spy(payload: Nothing, context: TaskContext) -> dict:
    """Notes the lease its own claim holds while it runs."""
    with SPIED["sessions"]() as session:
        query = select(Task.lease_expires_at).where(Task.type == "test_lease_spy", Task.status == "running")
        SPIED["lease"] = session.scalar(query)
    return {}


@task_type("test_context_spy", Nothing)
def context_spy(payload: Nothing, context: TaskContext) -> dict:
    """Notes what it is told of its run."""
    SPIED["context"] = (context.task_id, context.attempt, context.seconds_left())
    return {}


@task_type("test_unstorable", Nothing)
def unstorable(payload: Nothing, context: TaskContext) -> dict:
    """Returns what no PostgreSQL text can hold, or fails with it, on alternate attempts of the test."""
    if SPIED.get("raise"):
        raise TaskFailed("refused: \x00 and \ud800")
    return {"text": "a\x00b", "key": "lone \ud800 surrogate"}


def test_the_function_is_told_its_task_its_attempt_and_the_time_it_has_left(handler, sessions, new_task):
    task = new_task("test_context_spy", {})
    handler.function(event_for(body_of(task)), LocalLambdaContext("test", 20))
    task_id, attempt, seconds_left = SPIED["context"]
    assert (task_id, attempt) == (task.id, 1)
    assert 15 < seconds_left < 20, "the invocation's 20 s, less what has passed and the reserve"

    taken_over = new_task("test_context_spy", {})
    set_running(sessions, taken_over.id, lease_ends_in=-timedelta(seconds=1))
    handler.invoke(event_for(body_of(taken_over)))
    assert SPIED["context"][:2] == (taken_over.id, 2), "a second run knows it is one"


def test_a_message_runs_its_task_to_succeeded(handler, new_task, read):
    task = new_task(payload={"text": "a b b"})
    response = handler.invoke(event_for(body_of(task)))
    assert failures(response) == []
    stored = read.task(task.id)
    assert (stored.status, stored.attempts) == ("succeeded", 1)
    assert stored.result["top_words"][0] == {"word": "b", "count": 2}
    assert [e.to_status for e in read.events(task.id)] == ["pending", "running", "succeeded"]


def test_the_claim_and_the_finish_write_what_every_transition_writes(handler, new_task, read):
    # The consumer writes both in single statements, not through move_task's ORM rows: the same things, though.
    task = new_task(payload={"text": "a"})
    handler.invoke(event_for(body_of(task)))
    stored = read.task(task.id)
    assert (stored.version, stored.attempts, stored.lease_expires_at, stored.error) == (task.version + 2, 1, None, None)
    events = read.events(task.id)
    moves = [(e.from_status, e.to_status) for e in events]
    assert moves == [(None, "pending"), ("pending", "running"), ("running", "succeeded")]
    assert {e.correlation_id for e in events} == {task.correlation_id}
    assert (events[1].created_at, events[2].created_at) == (stored.started_at, stored.finished_at)
    assert task.created_at <= stored.started_at <= stored.finished_at == stored.updated_at

    refused = new_task("invoice_fields", {"fields": {"Invoice": "A", "Date": "2024-01-02", "Net": "1", "Tax": "1",
                                                     "Total": "3"}})  # fmt: skip
    handler.invoke(event_for(body_of(refused)))
    failed, [*_, event] = read.task(refused.id), read.events(refused.id)
    assert (failed.status, failed.result, failed.finished_at) == ("failed", None, event.created_at)
    assert (event.from_status, event.to_status, event.detail) == ("running", "failed", {"error": failed.error})


def test_a_redelivered_message_for_a_finished_task_is_acknowledged_without_running_again(handler, new_task, read):
    task = new_task()
    handler.invoke(event_for(body_of(task)))
    finished = read.task(task.id)
    response = handler.invoke(event_for(body_of(task)))
    assert failures(response) == []
    again = read.task(task.id)
    assert (again.attempts, again.version, again.finished_at) == (1, finished.version, finished.finished_at)
    assert [e.to_status for e in read.events(task.id)].count("succeeded") == 1


def test_a_task_function_that_refuses_its_input_fails_the_task_and_acknowledges(handler, new_task, read):
    task = new_task(
        "invoice_fields", {"fields": {"Invoice": "A", "Date": "2024-01-02", "Net": "10", "Tax": "1", "Total": "12"}}
    )
    response = handler.invoke(event_for(body_of(task)))
    assert failures(response) == []
    stored = read.task(task.id)
    assert stored.status == "failed"
    assert "subtotal 10.00 + tax 1.00 does not equal total 12.00" in stored.error


def test_a_malformed_record_fails_alone_and_its_neighbours_succeed(handler, new_task, read):
    good = new_task()
    event = event_for("not json", body_of(good))
    response = handler.invoke(event)
    assert failures(response) == [event["Records"][0]["messageId"]]
    assert read.task(good.id).status == "succeeded"


def test_a_message_for_an_unknown_task_is_acknowledged(handler):
    message = TaskMessage(task_id=uuid.uuid4(), version=1, correlation_id="c")
    assert failures(handler.invoke(event_for(message.to_body()))) == []


def test_a_message_for_a_cancelled_task_is_acknowledged_without_running(handler, sessions, new_task, read):
    task = new_task()
    with sessions() as session:
        move_task(session, session.get(Task, task.id), TaskStatus.CANCELLED)
        session.commit()
    assert failures(handler.invoke(event_for(body_of(task)))) == []
    stored = read.task(task.id)
    assert (stored.status, stored.attempts, stored.result) == ("cancelled", 0, None)


def test_a_message_older_than_the_tasks_latest_dispatch_is_acknowledged_without_running(
    handler, sessions, new_task, read
):
    task = new_task()
    old_body = body_of(task)
    with sessions() as session:
        current = session.get(Task, task.id)
        current.version += 1
        enqueue(session, current, "redispatched")
        session.commit()
    assert failures(handler.invoke(event_for(old_body))) == []
    assert (read.task(task.id).status, read.task(task.id).attempts) == ("pending", 0)
    assert failures(handler.invoke(event_for(body_of(read.task(task.id))))) == []
    assert read.task(task.id).status == "succeeded"


def test_a_task_another_consumer_is_running_is_left_for_a_later_redelivery(handler, sessions, new_task, read):
    task = new_task()
    set_running(sessions, task.id, lease_ends_in=timedelta(minutes=1))
    event = event_for(body_of(task))
    assert failures(handler.invoke(event)) == [event["Records"][0]["messageId"]]
    assert read.task(task.id).status == "running"


def test_a_task_whose_consumer_died_is_taken_over_once_its_lease_expires(handler, sessions, new_task, read):
    task = new_task()
    set_running(sessions, task.id, lease_ends_in=-timedelta(seconds=1))
    assert failures(handler.invoke(event_for(body_of(task)))) == []
    stored = read.task(task.id)
    assert (stored.status, stored.attempts, stored.lease_expires_at) == ("succeeded", 2, None)
    takeover = [e for e in read.events(task.id) if e.from_status == "running" and e.to_status == "running"]
    assert len(takeover) == 1 and "lease expired" in takeover[0].detail["taken_over"]


def test_a_task_whose_consumer_died_on_its_last_attempt_is_failed_not_run_again(handler, sessions, new_task, read):
    task = new_task()  # word_stats: five attempts
    set_running(sessions, task.id, lease_ends_in=-timedelta(seconds=1), attempts=5)
    assert failures(handler.invoke(event_for(body_of(task)))) == [], "acknowledged: nothing is left to try"
    stored = read.task(task.id)
    assert (stored.status, stored.attempts, stored.result) == ("failed", 5, None)
    assert stored.error == "gave up after 5 attempts: the function timed out or its execution environment died"


def test_a_claim_holds_the_task_until_its_invocations_deadline_and_a_margin(handler, sessions, new_task, read):
    SPIED["sessions"] = sessions
    task = new_task("test_lease_spy", {})
    started = utc_now()
    handler.function(event_for(body_of(task)), LocalLambdaContext("test", 20))
    margin = timedelta(seconds=10)  # CLAIM_LEASE_MARGIN_SECONDS' default
    assert started + timedelta(seconds=19) + margin < SPIED["lease"] < utc_now() + timedelta(seconds=20) + margin
    assert read.task(task.id).lease_expires_at is None, "a finished task holds no lease"


def test_two_copies_of_one_message_in_one_batch_run_the_task_once(handler, new_task, read):
    task = new_task()
    event = event_for(body_of(task), body_of(task))
    assert failures(handler.invoke(event)) == [], "the second copy finds the task finished and is acknowledged"
    assert [e.to_status for e in read.events(task.id)].count("running") == 1
    assert read.task(task.id).status == "succeeded"
    assert failures(handler.invoke(event_for(body_of(task)))) == []


def test_an_empty_result_is_still_a_stored_success(handler, api_create_task, read):
    task_type("test_returns_nothing", Nothing)(lambda payload, context: {})
    task = api_create_task(task_type="test_returns_nothing", payload={}, correlation_id="empty")
    handler.invoke(event_for(body_of(task)))
    stored = read.task(task.id)
    assert (stored.status, stored.result) == ("succeeded", {})


def test_the_claim_keeps_when_sqs_sent_the_message_and_first_handed_it_out(handler, new_task, read):
    task = new_task(payload={"text": "when"})
    handler.invoke(event_for(body_of(task)))  # the fixture's SentTimestamp and ApproximateFirstReceiveTimestamp
    [claim] = [event for event in read.events(task.id) if event.to_status == "running"]
    assert claim.detail["sent_at"] == "2018-12-17T21:37:29.183000+00:00"
    assert claim.detail["received_at"] == "2018-12-17T21:37:29.185000+00:00"


def claim_at_once(runner: TaskRunner, body: str, consumers: int) -> list:
    """What each of `consumers` threads handling the same message at the same moment got."""
    start, outcomes = threading.Barrier(consumers), []

    def consume():
        start.wait(10)
        try:
            outcomes.append(runner.handle(body, Deadline(lambda: 30.0)).outcome)
        except TaskBusy:
            outcomes.append("busy")

    threads = [threading.Thread(target=consume) for _ in range(consumers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return outcomes


def test_consumers_claiming_one_task_at_the_same_moment_run_it_once(sessions, new_task, read):
    runner = TaskRunner(sessions, lease_margin=timedelta(seconds=5))
    for _ in range(10):
        task = new_task()
        outcomes = claim_at_once(runner, body_of(task), 4)
        assert outcomes.count(Outcome.SUCCEEDED) == 1, outcomes
        assert set(outcomes) <= {Outcome.SUCCEEDED, Outcome.ALREADY_FINISHED, "busy"}, outcomes
        assert [e.to_status for e in read.events(task.id)] == ["pending", "running", "succeeded"]
        assert read.task(task.id).attempts == 1


def test_a_claim_that_waited_for_a_lock_is_dated_after_the_change_it_waited_for(sessions, new_task, read):
    # The claim is one statement that takes its lock inside: a time read before it started would date the claim
    # before the queued mark it waited for, and every stage measured from the events would go negative.
    runner = TaskRunner(sessions, lease_margin=timedelta(seconds=5))
    task = new_task()
    with sessions() as relay:  # the relay's mark, holding the row while the consumer's claim waits for it
        locked = relay.get(Task, task.id, with_for_update=True)
        consumer = threading.Thread(target=runner.handle, args=(body_of(task), Deadline(lambda: 30.0)))
        consumer.start()
        wait_until(lambda: blocked_on_a_lock(sessions), 10, "the claim waiting for the row")
        move_task(relay, locked, TaskStatus.QUEUED, detail={"published": True})
        relay.commit()
    consumer.join(30)
    events, stored = read.events(task.id), read.task(task.id)
    assert [e.to_status for e in events] == ["pending", "queued", "running", "succeeded"]
    times = [e.created_at for e in events]
    assert times == sorted(times), "dated in the order they happened"
    assert stored.started_at == events[2].created_at > events[1].created_at


@pytest.mark.parametrize("how", ["returned", "raised"])
def test_a_result_or_error_postgresql_cannot_store_fails_the_task_at_its_first_delivery(handler, new_task, read, how):
    # Stored as it was, the finish failed at every delivery: the task sat running until its lease ran out, ran
    # again, and ended failed as if its environment had died.
    SPIED["raise"] = how == "raised"
    task = new_task("test_unstorable", {})
    assert failures(handler.invoke(event_for(body_of(task)))) == [], "acknowledged: it failed for good"
    stored = read.task(task.id)
    assert (stored.status, stored.attempts, stored.result) == ("failed", 1, None)
    expected = "cannot be stored" if how == "returned" else "refused: \\x00 and \\ud800"
    assert expected in stored.error
