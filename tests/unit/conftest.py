"""Unit tests do no I/O: moto stands in for AWS, and it only intercepts calls made without an endpoint override,
so AWS_ENDPOINT_URL (which `make test` honours for the other tiers) is unset here."""

import pytest


@pytest.fixture(autouse=True)
def no_endpoint_override(monkeypatch):
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
