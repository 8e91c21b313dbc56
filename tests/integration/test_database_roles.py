"""Each process's database role (migration 0009) can do its work and nothing more: the consumer cannot read API
keys, no process can read what it does not need or change the schema. The end-to-end stacks run every process
as its role, so the grants its code needs are proven there; this proves the refusals, and the API's delete."""

import importlib.util
import uuid
from concurrent.futures import ThreadPoolExecutor
from types import ModuleType

import psycopg
import pytest
from sqlalchemy import text
from sqlalchemy.exc import ProgrammingError

from devstack import ROOT
from taskflow.db.engine import libpq_url, make_engine
from taskflow.db.login import DatabaseLogin
from tests.integration.lambda_events import body_of, event_for
from tests.waiting import wait_until

REFUSED = [
    ("taskflow_consumer", "SELECT key_hash FROM api_keys"),
    ("taskflow_consumer", "SELECT body FROM outbox"),
    ("taskflow_consumer", "SELECT detail FROM task_events"),
    ("taskflow_consumer", "DELETE FROM tasks"),
    ("taskflow_relay", "SELECT key_hash FROM api_keys"),
    ("taskflow_relay", "DELETE FROM api_keys"),
    ("taskflow_relay", "UPDATE idempotency_keys SET request_hash = ''"),
    ("taskflow_api", "UPDATE api_keys SET revoked_at = now()"),
    ("taskflow_api", "DELETE FROM task_events"),
    ("taskflow_api", "DROP TABLE tasks"),
    ("taskflow_api", "TRUNCATE tasks"),
    ("taskflow_api", "CREATE TABLE stolen (x int)"),
    ("taskflow_relay", "ALTER TABLE tasks ADD COLUMN x int"),
]


def engine_as(database_url: str, role: str):
    return make_engine(database_url, pool_size=1, login=DatabaseLogin(database_url, role=role))


@pytest.mark.parametrize(("role", "statement"), REFUSED, ids=[f"{r}: {s}" for r, s in REFUSED])
def test_a_role_is_refused_what_its_process_has_no_business_doing(database_url, role, statement):
    engine = engine_as(database_url, role)
    try:
        with engine.connect() as connection, pytest.raises(ProgrammingError, match="permission denied|must be owner"):
            connection.execute(text(statement))
    finally:
        engine.dispose()


def test_the_api_deletes_a_finished_task_with_its_whole_history(database_url, new_task, handler, read):
    task = new_task()
    handler.invoke(event_for(body_of(task)))
    engine = engine_as(database_url, "taskflow_api")
    try:
        with engine.begin() as connection:
            assert connection.execute(text("DELETE FROM tasks WHERE id = :id"), {"id": task.id}).rowcount == 1
    finally:
        engine.dispose()
    assert read.task(task.id) is None and read.events(task.id) == [] and read.outbox(task.id) == []


def test_two_databases_migrating_at_once_both_create_their_roles(database_url):
    """Roles belong to the server: two migrations at once (parallel test workers, two stacks starting) must not
    fail on the role the other has just created and not yet committed."""
    create_role = migration("0009").create_role
    role = f"taskflow_race_{uuid.uuid4().hex[:8]}"
    first, second = psycopg.connect(libpq_url(database_url)), psycopg.connect(libpq_url(database_url))
    try:
        first.execute(create_role(role))  # uncommitted: the second's check cannot see it, its CREATE waits on it
        with ThreadPoolExecutor(1) as pool:
            racing = pool.submit(second.execute, create_role(role))
            wait_until(lambda: waiting_on_a_lock(database_url, second.info.backend_pid), 10, "the CREATE waiting")
            first.commit()
            racing.result(timeout=10)  # before the fix: UniqueViolation on pg_authid_rolname_index
        second.commit()
    finally:
        first.close()
        second.close()
        with psycopg.connect(libpq_url(database_url), autocommit=True) as connection:
            connection.execute(f"DROP ROLE IF EXISTS {role}")


def migration(revision: str) -> ModuleType:
    """The migration module of `revision`, loaded from alembic/versions."""
    (path,) = (ROOT / "alembic" / "versions").glob(f"*_{revision}_*.py")
    spec = importlib.util.spec_from_file_location(f"migration_{revision}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def waiting_on_a_lock(database_url: str, pid: int) -> bool:
    with psycopg.connect(libpq_url(database_url)) as connection:
        (kind,) = connection.execute("SELECT wait_event_type FROM pg_stat_activity WHERE pid = %s", (pid,)).fetchone()
        return kind == "Lock"
