"""A rotated database password does not break a running process: its next new connection is refused once, reads
the secret again and gets in. Against a real PostgreSQL that checks passwords (a server of the test's own, with
scram-sha-256 for the test's role) and Secrets Manager's API (moto)."""

import asyncio

import boto3
import psycopg
import pytest
from moto import mock_aws
from sqlalchemy import text

from devstack.postgres_process import EmbeddedPostgres
from taskflow.db.async_engine import make_async_engine
from taskflow.db.engine import make_engine
from taskflow.db.login import DatabaseLogin, secret_reader
from taskflow.db.roles import set_role_passwords

ROLE = "rotated_login"


@pytest.fixture(scope="module")
def password_checking_server(private_root):
    """A PostgreSQL of the test's own where ROLE must give its password (everyone else is trusted)."""
    server = EmbeddedPostgres(private_root / "rotation" / "postgres")
    url = server.start()
    hba = server.data_dir / "pg_hba.conf"
    hba.write_text(f"local all {ROLE} scram-sha-256\n" + hba.read_text())
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SELECT pg_reload_conf()")
        admin.execute(f"CREATE ROLE {ROLE} LOGIN PASSWORD 'first'")
    yield server
    server.stop()


@pytest.fixture
def secret(password_checking_server, monkeypatch):
    """ROLE's password, and a secret in (moto's) Secrets Manager that holds it; yields (ARN, client)."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # moto answers only calls without an endpoint override
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="us-east-1")
        arn = client.create_secret(Name="api-login", SecretString="{}")["ARN"]
        rotate(password_checking_server.url, client, arn, "first")
        yield arn, client


def rotate(url: str, client, arn: str, password: str) -> None:
    """What a rotation does: a new password for the role, then the secret's new value."""
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"ALTER ROLE {ROLE} PASSWORD '{password}'")
    client.put_secret_value(SecretId=arn, SecretString=f'{{"username": "{ROLE}", "password": "{password}"}}')


def test_a_pool_logs_in_again_with_the_rotated_password(password_checking_server, secret):
    arn, client, url = *secret, password_checking_server.url
    login = DatabaseLogin(url, secret_reader(arn, "us-east-1", None))
    engine = make_engine(url, pool_size=1, login=login)
    try:
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_user")) == ROLE
        rotate(url, client, arn, "second")
        engine.dispose()  # the pool recycles its connection, as it does every 30 minutes
        with engine.connect() as connection:
            assert connection.scalar(text("SELECT current_user")) == ROLE
        assert login.secret_reads == 2, "read at the first connect, and again after the refusal"
    finally:
        engine.dispose()


def test_the_api_pool_and_a_listening_connection_log_in_again_too(password_checking_server, secret):
    arn, client, url = *secret, password_checking_server.url
    login = DatabaseLogin(url, secret_reader(arn, "us-east-1", None))
    login.connect().close()
    rotate(url, client, arn, "third")
    with login.connect() as listening:  # the relay's LISTEN connection
        assert listening.execute("SELECT current_user").fetchone()[0] == ROLE
    rotate(url, client, arn, "fourth")

    async def api_query() -> str:
        engine = make_async_engine(url, pool_size=1, login=login)
        try:
            async with engine.connect() as connection:
                return await connection.scalar(text("SELECT current_user"))
        finally:
            await engine.dispose()

    assert asyncio.run(api_query()) == ROLE
    assert login.secret_reads == 3


def test_a_password_the_secret_does_not_know_is_still_refused(password_checking_server, secret):
    arn, url = secret[0], password_checking_server.url
    login = DatabaseLogin(url, secret_reader(arn, "us-east-1", None))
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(f"ALTER ROLE {ROLE} PASSWORD 'nobody knows this'")
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        login.connect()
    assert login.secret_reads == 2, "tried once more with the secret read again, then gave up"


def test_the_migration_task_gives_each_role_its_secrets_password_and_no_log_sees_it(password_checking_server):
    url = password_checking_server.url
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute("SET log_statement = 'all'")  # what a server configured to log every statement would keep
        assert set_role_passwords(admin, {ROLE: '{"username": "ignored", "password": "from the secret"}'}) == [ROLE]
        stored = admin.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (ROLE,)).fetchone()[0]
    assert stored.startswith("SCRAM-SHA-256$") and "from the secret" not in stored
    assert "from the secret" not in password_checking_server.log.read_text(), "only the verifier crossed the wire"
    login = DatabaseLogin(url, lambda: f'{{"username": "{ROLE}", "password": "from the secret"}}')
    with login.connect() as connection:
        assert connection.execute("SELECT current_user").fetchone()[0] == ROLE
