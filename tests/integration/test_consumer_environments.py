"""Each execution environment of the consumer reports its invocations, for the dashboard: two statements per batch,
as the consumer's own role."""

import os
import socket

import pytest
from sqlalchemy import select

from taskflow.db.models import ConsumerEnvironment
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
    assert {"id": THIS_ENVIRONMENT, "invocations": invocations + 1, "current_batch": 0}.items() <= next(
        c for c in shown if c["id"] == THIS_ENVIRONMENT
    ).items()
