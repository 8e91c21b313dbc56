"""Each execution environment of the consumer reports its invocations, for the dashboard: two statements per batch,
as the consumer's own role."""

import os
import socket
import sys
import uuid
from datetime import timedelta

import pytest
from sqlalchemy import func, select, update

from taskflow.db.models import ConsumerEnvironment
from taskflow.services.environments import invocation_ended, invocation_started
from tests.integration.lambda_events import body_of, event_for, failures

pytestmark = pytest.mark.integration
# The handler runs in this process here, so it names this process.
THIS_ENVIRONMENT = f"{socket.gethostname()}:{os.getpid()}"


def environment(sessions) -> ConsumerEnvironment | None:
    with sessions() as session:
        return session.scalars(select(ConsumerEnvironment).where(ConsumerEnvironment.id == THIS_ENVIRONMENT)).first()


def test_an_invocation_is_counted_with_its_records_and_failures_and_leaves_the_environment_idle(
    handler, new_task, sessions, client
):
    before = environment(sessions)
    invocations, records, failed = (0, 0, 0) if before is None else (before.invocations, before.records,
                                                                      before.failed_records)  # fmt: skip
    response = handler.invoke(event_for(body_of(new_task()), body_of(new_task()), "not a task message"))
    after = environment(sessions)
    assert len(failures(response)) == 1
    assert (after.invocations, after.records, after.failed_records) == (invocations + 1, records + 3, failed + 1)
    assert (after.current_batch, after.busy_since) == (0, None) and after.last_seen_at >= after.started_at
    shown = client.get("/stats/pipeline").json()["consumers"]
    assert {"id": THIS_ENVIRONMENT, "invocations": invocations + 1, "state": "idle"}.items() <= next(
        c for c in shown if c["id"] == THIS_ENVIRONMENT
    ).items()


def test_an_environment_that_died_mid_batch_is_shown_stopped_and_one_gone_for_a_day_is_forgotten(
    sessions, client, handler
):
    engine = sessions.kw["bind"].execution_options(isolation_level="AUTOCOMMIT")
    running, died, gone = (f"test-{uuid.uuid4()}" for _ in range(3))
    with engine.connect() as connection:
        invocation_started(connection, running, 10, seconds=60)
        invocation_started(connection, died, 10, seconds=0)  # its deadline passed without an end reported
        invocation_started(connection, gone, 1, seconds=1)
        invocation_ended(connection, gone, 1, 0)
        connection.execute(update(ConsumerEnvironment).where(ConsumerEnvironment.id == gone)
                           .values(last_seen_at=func.now() - timedelta(days=1, seconds=1)))  # fmt: skip
    handler_module = sys.modules[handler.function.__module__]  # as the handler runs it, with its own id
    handler_module.forget_gone_once.cache_clear()
    handler_module.forget_gone_once()
    shown = {c["id"]: c["state"] for c in client.get("/stats/pipeline").json()["consumers"]}
    assert (shown[running], shown[died]) == ("busy", "stopped")
    with sessions() as session:
        assert session.get(ConsumerEnvironment, gone) is None and session.get(ConsumerEnvironment, died) is not None
