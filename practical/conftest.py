"""Practical tasks' acceptance tests use the integration tests' fixtures: a real PostgreSQL and SQS endpoint,
the API in-process for a tenant of the test's own."""

from tests.conftest import *  # noqa: F403 (the suite's fixtures)
from tests.integration.conftest import app_for_other_tenant, client, tenant  # noqa: F401
