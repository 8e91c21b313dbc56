"""One tenant's task that kills its consumer every time cannot stall the system: it fails after its attempts,
and the other tenants' tasks that shared its batches finish within one visibility timeout of each kill."""

from datetime import timedelta

import httpx
import psycopg

from devstack.dev_key import new_api_key
from taskflow.db.engine import libpq_url
from tests.e2e.conftest import running_stack
from tests.waiting import wait_until

FUNCTION_TIMEOUT = 2
VISIBILITY_TIMEOUT = 6 * FUNCTION_TIMEOUT  # as AWS advises
SLACK = timedelta(seconds=8)  # a redelivered batch's receive, a cold start, the work itself
OTHERS = 30
FAST = {
    "FUNCTION_TIMEOUT_SECONDS": str(FUNCTION_TIMEOUT),
    "CLAIM_LEASE_MARGIN_SECONDS": "1",
    "RECOVERY_INTERVAL_SECONDS": "1",
    "ESM_MAXIMUM_BATCHING_WINDOW_IN_SECONDS": "1",  # fuller batches: the hostile task shares them
    "LOG_LEVEL": "WARNING",
}


def create(stack, headers: dict, body: dict) -> str:
    response = httpx.post(f"{stack.base_url}/tasks", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"]


def rows(database_url: str, query: str, *params) -> list[tuple]:
    with psycopg.connect(libpq_url(database_url)) as connection:
        return connection.execute(query, params).fetchall()


def test_a_task_that_kills_its_consumer_every_time_fails_and_holds_nobody_up(
    postgres_server_url, sqs_endpoint, tree_with_test_types, tmp_path
):
    queue = {"VisibilityTimeout": str(VISIBILITY_TIMEOUT)}
    tree, log = tree_with_test_types, tmp_path / "stack.log"
    with running_stack(postgres_server_url, sqs_endpoint, log, FAST, tree, queue_attributes=queue) as stack:
        database = stack.env["DATABASE_URL"]
        stack.group.stop("esm")  # the messages wait, so that the hostile one lands in a batch with the others
        other_tenant = {"X-API-Key": new_api_key(database, "other-tenant")}
        hog = create(stack, stack.headers, {"type": "test_hog", "payload": {}})
        others = [
            create(stack, other_tenant, {"type": "word_stats", "payload": {"text": f"an innocent task {i}"}})
            for i in range(OTHERS)
        ]
        stack.group.start("esm", stack.commands["esm"], stack.env)

        wait_until(lambda: rows(database, "SELECT 1 FROM tasks WHERE id = %s AND status = 'failed'", hog), 120, "hog")
        finished = "SELECT count(*) FROM tasks WHERE id = ANY(%s::uuid[]) AND status = 'succeeded'"
        wait_until(lambda: rows(database, finished, others)[0][0] == OTHERS, 60, "the other tenant's tasks")

        [(status, attempts, error)] = rows(database, "SELECT status, attempts, error FROM tasks WHERE id = %s", hog)
        assert (status, attempts) == ("failed", 2)
        assert error == "gave up after 2 attempts: the function timed out or its execution environment died"
        runs = [at for (at,) in rows(database, "SELECT created_at FROM task_events WHERE task_id = %s "
                                               "AND to_status = 'running' ORDER BY id", hog)]  # fmt: skip
        kills = [run + timedelta(seconds=FUNCTION_TIMEOUT) for run in runs]
        [(last_other, first_other)] = rows(
            database, "SELECT max(finished_at), min(created_at) FROM tasks WHERE id = ANY(%s::uuid[])", others
        )
        [(hog_failed,)] = rows(database, "SELECT finished_at FROM tasks WHERE id = %s", hog)
        start = first_other
        print(
            f"\nhostile task: killed at {', '.join(f'+{(k - start).total_seconds():.1f}s' for k in kills)}, "
            f"failed at +{(hog_failed - start).total_seconds():.1f}s; the other tenant's {OTHERS} tasks all "
            f"finished by +{(last_other - start).total_seconds():.1f}s (visibility timeout {VISIBILITY_TIMEOUT}s)"
        )
        assert last_other <= kills[-1] + timedelta(seconds=VISIBILITY_TIMEOUT) + SLACK
        assert "Task timed out after 2 seconds" in stack.logs(), "the consumer really was killed"
