"""API keys and tenants: no key, no access; a tenant never sees, changes or learns of another's task."""

import os
import subprocess
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import boto3
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from moto import mock_aws

from api.main import create_app
from api.settings import ApiSettings
from cli.main import taskflow
from taskflow.services.api_keys import create_api_key

# The operator's command as `make venv` installs it (pyproject.toml's console script), beside this Python.
TASKFLOW_COMMAND = str(Path(sys.executable).parent / "taskflow")


@pytest.fixture
def app(database_url, sqs_endpoint, queue):
    return create_app(ApiSettings(database_url=database_url, aws_endpoint_url=sqs_endpoint, queue_name=queue.name))


@pytest.fixture
def other_tenant_key(sessions) -> str:
    with sessions() as session:
        return create_api_key(session=session, tenant_name=f"other-{uuid.uuid4().hex[:8]}", key_name="k")[1]


def test_without_a_valid_key_everything_but_health_and_docs_is_401(app):
    with TestClient(app) as anonymous:
        for response in (
            anonymous.get("/tasks"),
            anonymous.post("/tasks", json={}),
            anonymous.get("/task-types"),
            anonymous.get("/tasks", headers={"X-API-Key": "tf_not-a-real-key"}),
        ):
            assert response.status_code == 401
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["www-authenticate"].startswith("ApiKey")
        assert anonymous.get("/health").status_code == 200
        assert anonymous.get("/ready").status_code == 200
        assert anonymous.get("/docs").status_code == 200


def test_the_openapi_document_declares_the_key_so_docs_can_authorize(app):
    with TestClient(app) as anonymous:
        document = anonymous.get("/openapi.json").json()
    assert document["components"]["securitySchemes"]["APIKeyHeader"] == {
        "type": "apiKey",
        "in": "header",
        "name": "X-API-Key",
        "description": "A key from `taskflow keys create TENANT`.",
    }
    assert document["paths"]["/tasks"]["post"]["security"] == [{"APIKeyHeader": []}]
    assert "security" not in document["paths"]["/health"]["get"]


def test_another_tenants_task_is_invisible_and_untouchable(client, app, other_tenant_key):
    mine = client.post("/tasks", json={"type": "word_stats", "payload": {"text": "private"}}).json()
    with TestClient(app, headers={"X-API-Key": other_tenant_key}) as other:
        url = f"/tasks/{mine['id']}"
        for response in (
            other.get(url),
            other.get(f"{url}/events"),
            other.post(f"{url}/cancel"),
            other.post(f"{url}/retry"),
            other.delete(url),
            other.patch(url, json={"priority": 1}, headers={"If-Match": '"1"'}),
        ):
            assert response.status_code == 404, response.text
            assert response.json()["type"].endswith("task-not-found")
        assert mine["id"] not in [t["id"] for t in other.get("/tasks", params={"limit": 200}).json()["items"]]
    assert client.get(f"/tasks/{mine['id']}").json()["status"] != "cancelled"


@pytest.mark.parametrize(
    ("args", "database", "says"),
    [
        (["keys", "list"], None, "DATABASE_URL"),
        (["keys", "list"], "postgresql://postgres@127.0.0.1:9/none", "the database refused"),
        (["keys", "list"], "not a url", "cannot use DATABASE_URL"),
        (["dead-letters", "discard", "99999999999999999999"], "given", "out of range"),
        (["keys", "create", " "], "given", "not blank"),
        (["keys", "create", "x" * 101], "given", "1 to 100 characters"),
        (["keys", "create", "acme", "--to-secret", ""], "given", "must be a secret's ARN"),
    ],
)
def test_the_operators_mistakes_get_one_line_not_a_traceback(database_url, tmp_path, args, database, says):
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    if database:
        env["DATABASE_URL"] = database_url if database == "given" else database
    ran = subprocess.run([TASKFLOW_COMMAND, *args], env=env, cwd=tmp_path, capture_output=True, text=True)
    assert ran.returncode in (1, 2) and says in ran.stderr, ran.stderr
    assert "Traceback" not in ran.stderr and len(ran.stderr.strip().splitlines()) <= 4, ran.stderr


def test_first_keys_of_one_new_tenant_created_at_once_all_succeed(sessions):
    tenant, barrier = f"together-{uuid.uuid4().hex[:8]}", threading.Barrier(4)

    def create(_: int) -> uuid.UUID:
        with sessions() as session:
            barrier.wait()
            return create_api_key(session=session, tenant_name=tenant, key_name="k")[0].tenant_id

    with ThreadPoolExecutor(4) as pool:
        tenants = set(pool.map(create, range(4)))
    assert len(tenants) == 1, "four keys, one tenant"


def test_the_key_command_creates_lists_and_revokes(database_url, app):
    env = {**os.environ, "DATABASE_URL": database_url}

    def run(*args: str) -> str:
        return subprocess.run(
            [TASKFLOW_COMMAND, "keys", *args], env=env, capture_output=True, text=True, check=True
        ).stdout

    tenant = f"cli-{uuid.uuid4().hex[:8]}"
    key = run("create", tenant, "--name", "laptop")
    assert key.count("\n") == 1, "only the key on standard output, for KEY=$(taskflow keys create ...)"
    key = key.strip()
    assert key.startswith("tf_")
    listing = run("list")
    assert tenant in listing and key[:12] in listing and "active" in listing
    with TestClient(app, headers={"X-API-Key": key}) as client:
        assert client.get("/tasks").status_code == 200
    run("revoke", key[:12] + "...")  # as `keys list` shows it
    assert "revoked" in [line for line in run("list").splitlines() if key[:12] in line][0]
    with TestClient(app, headers={"X-API-Key": key}) as fresh_process:  # a new app: nothing cached
        assert fresh_process.get("/tasks").status_code == 401


def test_bad_keys_cost_the_database_one_query_each_at_most(app):
    import secrets

    from sqlalchemy import event

    from taskflow.services.api_keys import KEY_PREFIX

    queries = []
    with TestClient(app) as anonymous:
        engine = app.state.sessions.kw["bind"].sync_engine
        count = lambda conn, cursor, statement, *rest: queries.append(statement)  # noqa: E731
        event.listen(engine, "before_cursor_execute", count)
        try:
            garbage = [anonymous.get("/tasks", headers={"X-API-Key": secrets.token_hex(20)}) for _ in range(200)]
            well_formed = KEY_PREFIX + secrets.token_urlsafe(32)
            repeated = [anonymous.get("/tasks", headers={"X-API-Key": well_formed}) for _ in range(200)]
        finally:
            event.remove(engine, "before_cursor_execute", count)
    assert {r.status_code for r in garbage + repeated} == {401}
    assert len([q for q in queries if "api_keys" in q]) == 1, "none for garbage, one for the repeated bad key"


def test_a_key_written_to_a_secret_is_there_and_never_in_the_output(database_url, app, monkeypatch):
    """On AWS the migration task creates the first key, and its output goes to CloudWatch Logs."""
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)  # moto answers only calls without an endpoint override
    tenant = f"secret-{uuid.uuid4().hex[:8]}"
    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        arn = secrets.create_secret(Name=f"first-key-{tenant}", SecretString="not yet")["ARN"]
        ran = CliRunner().invoke(taskflow, ["keys", "create", tenant, "--to-secret", arn],
                                 env={"DATABASE_URL": database_url, "AWS_REGION": "us-east-1"})  # fmt: skip
        key = secrets.get_secret_value(SecretId=arn)["SecretString"]
    assert ran.exit_code == 0, ran.output
    assert key.startswith("tf_") and key not in ran.output and key[:12] in ran.output
    with TestClient(app, headers={"X-API-Key": key}) as client:
        assert client.get("/tasks").status_code == 200


def test_a_key_whose_secret_cannot_be_written_is_revoked_not_left_usable(database_url, monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    tenant = f"nosecret-{uuid.uuid4().hex[:8]}"
    missing = "arn:aws:secretsmanager:us-east-1:123456789012:secret:no-such-secret-AbCdEf"
    env = {"DATABASE_URL": database_url, "AWS_REGION": "us-east-1"}
    with mock_aws():
        ran = CliRunner().invoke(taskflow, ["keys", "create", tenant, "--to-secret", missing], env=env)
        # Not an AWS error: a malformed endpoint fails before any call, after the key was created.
        broken = CliRunner().invoke(taskflow, ["keys", "create", tenant, "--to-secret", missing],
                                    env={**env, "AWS_ENDPOINT_URL": "not a url"})  # fmt: skip
    for result in (ran, broken):
        assert result.exit_code == 1 and "was revoked" in result.output, result.output
        assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    listed = [line for line in CliRunner().invoke(taskflow, ["keys", "list"], env=env).output.splitlines()
              if tenant in line]  # fmt: skip
    assert len(listed) == 2 and all("revoked" in line for line in listed), listed
