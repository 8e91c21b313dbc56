"""Migrations that change data: run on a database holding rows of the revision before them."""

import os
import subprocess
import sys
import uuid

import psycopg
import pytest

from devstack import ROOT
from devstack.postgres import create_database, drop_database
from taskflow.db.engine import libpq_url


@pytest.fixture
def database_at(postgres_server_url):
    """A database of this test's own, and a function that migrates it to a revision."""
    name = f"taskflow_migration_{uuid.uuid4().hex[:10]}"
    url = create_database(postgres_server_url, name)

    def upgrade(revision: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "alembic", "upgrade", revision],
            cwd=ROOT, env={**os.environ, "DATABASE_URL": url}, capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        return libpq_url(url)

    yield upgrade
    drop_database(postgres_server_url, name)


def test_0015_flags_the_tasks_that_waiting_tasks_name_and_no_other(database_at):
    url = database_at("0014")
    tenant, prerequisite, other, waiting = (uuid.uuid4() for _ in range(4))
    with psycopg.connect(url) as connection:
        connection.execute("INSERT INTO tenants (id, name) VALUES (%s, %s)", (tenant, f"migration-{tenant}"))
        for task, status, after in [(prerequisite, "running", None), (other, "running", None),
                                    (waiting, "waiting", [prerequisite])]:  # fmt: skip
            connection.execute(
                "INSERT INTO tasks (id, tenant_id, type, payload, status, correlation_id, after_ids) "
                "VALUES (%s, %s, 'word_stats', '{}', %s, 'migration', %s)",
                (task, tenant, status, after),
            )
    database_at("head")
    with psycopg.connect(url) as connection:
        flagged = dict(connection.execute("SELECT id, awaited FROM tasks").fetchall())
    assert flagged == {prerequisite: True, other: False, waiting: False}
