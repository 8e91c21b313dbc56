"""Finding or starting a PostgreSQL server, creating databases on it, and migrating them."""

import logging
import os
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from psycopg import sql
from sqlalchemy.engine import make_url

from devstack import ROOT
from devstack.postgres_process import EmbeddedPostgres
from devstack.processes import migrate_command
from taskflow.db.engine import libpq_url

log = logging.getLogger("devstack")
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def server_answers(url: str) -> bool:
    """True if a PostgreSQL server accepts a connection at `url` within two seconds."""
    try:
        with psycopg.connect(libpq_url(url), connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def with_database(url: str, name: str) -> str:
    """`url` pointing at database `name` instead of the one it names."""
    return make_url(libpq_url(url)).set(database=name).render_as_string(hide_password=False)


def create_database(server_url: str, name: str) -> str:
    """Create database `name` if missing; return its URL."""
    with psycopg.connect(libpq_url(server_url), autocommit=True) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    return with_database(server_url, name)


def drop_database(server_url: str, name: str) -> None:
    """Drop database `name`, disconnecting anyone still using it."""
    with psycopg.connect(libpq_url(server_url), autocommit=True) as connection:
        connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def migrate(database_url: str) -> None:
    """Bring the database to the newest Alembic revision with the command compose's `migrate` service runs."""
    migration = subprocess.run(
        migrate_command(), cwd=ROOT, env={**os.environ, "DATABASE_URL": database_url}, capture_output=True, text=True
    )
    if migration.returncode != 0:
        raise RuntimeError(f"alembic upgrade head failed:\n{migration.stdout}{migration.stderr}")


@contextmanager
def migrated_database(server: str, prefix: str) -> Iterator[str]:
    """A new database on `server`, migrated to the newest schema, dropped when the block ends; yields its URL."""
    database_url = create_database(server, f"{prefix}_{uuid.uuid4().hex[:8]}")
    try:
        migrate(database_url)
        yield database_url
    finally:
        drop_database(server, database_url.rsplit("/", 1)[1])


@contextmanager
def server_for_tests(scratch_dir: Path) -> Iterator[str]:
    """DATABASE_URL if set, else PostgreSQL on 127.0.0.1:5432 if it answers, else an embedded one in `scratch_dir`,
    running until the block ends."""
    if os.environ.get("DATABASE_URL"):
        yield os.environ["DATABASE_URL"]
    elif server_answers(LOCAL_SERVER):
        yield LOCAL_SERVER
    else:
        server = EmbeddedPostgres(scratch_dir / "postgres")
        try:
            yield server.start()
        finally:
            server.stop()
