"""Hidden check: every request gives its database connection back when it ends, on error paths too.

The pool is kept small and the cyclic garbage collector off while requests run: a connection must come back
because the request closed its session, not because a collector happened to run (under load, it runs late).
"""

import gc
import uuid

import pytest
from fastapi.testclient import TestClient

from api.main import create_app
from api.settings import ApiSettings
from taskflow.services.api_keys import create_api_key


@pytest.fixture
def client(database_url, sessions, sqs_endpoint):
    with sessions() as session:
        _, key = create_api_key(session=session, tenant_name=f"load-{uuid.uuid4().hex[:6]}", key_name="check")
    settings = ApiSettings(database_url=database_url, aws_endpoint_url=sqs_endpoint, database_pool_size=2)
    with TestClient(create_app(settings), headers={"X-API-Key": key}) as client:
        yield client


def test_connections_return_to_the_pool_after_failed_and_successful_requests(client):
    pool = client.app.state.autocommit_engine.pool
    gc.disable()
    try:
        # Looking up tasks that do not exist (404, an error path through the session), then listing (200).
        for path in [f"/tasks/{uuid.uuid4()}" for _ in range(10)] + ["/tasks?limit=5"] * 5:
            client.get(path)
            assert pool.checkedout() == 0, f"GET {path} ended with {pool.checkedout()} connection(s) still out"
    finally:
        gc.enable()
