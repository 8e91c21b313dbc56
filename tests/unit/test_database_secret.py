"""On AWS the database password lives in Secrets Manager; every process completes DATABASE_URL from it at start."""

import json

import boto3
import pytest
from moto import mock_aws

from taskflow.secrets import with_credentials
from taskflow.settings import get_settings


def test_the_secret_fills_in_username_and_password_and_keeps_the_rest_of_the_url():
    secret = json.dumps({"username": "taskflow", "password": "p@ss/word:1", "engine": "postgres"})
    url = with_credentials("postgresql://proxy.example:5432/taskflow?sslmode=require", secret)
    assert url == "postgresql://taskflow:p%40ss%2Fword%3A1@proxy.example:5432/taskflow?sslmode=require"


@pytest.fixture
def clean_settings():
    get_settings.cache_clear()
    yield
    get_settings.cache_clear()


def test_settings_read_the_secret_named_by_database_secret_arn(monkeypatch, clean_settings):
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = client.create_secret(Name="rds-master", SecretString='{"username": "u", "password": "p"}')["ARN"]
        monkeypatch.setenv("DATABASE_URL", "postgresql://db.internal:5432/taskflow")
        monkeypatch.setenv("DATABASE_SECRET_ARN", arn)
        monkeypatch.setenv("AWS_REGION", "eu-west-1")
        assert get_settings().database_url == "postgresql://u:p@db.internal:5432/taskflow"
