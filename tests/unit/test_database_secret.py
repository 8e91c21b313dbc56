"""On AWS each process's database user and password live in a Secrets Manager secret: every new connection uses
the secret's current value, read once and again whenever the server refuses it (the secret was rotated)."""

import json

import boto3
import psycopg
from moto import mock_aws

from taskflow.db.login import DatabaseLogin, login_from, refused_login
from taskflow.settings import Settings


def test_the_secret_gives_user_and_password_and_the_role_an_option():
    login = DatabaseLogin("postgresql://db:5432/taskflow", lambda: json.dumps({"username": "u", "password": "p"}), "r")
    assert login.parameters() == {"user": "u", "password": "p", "options": "-c role=r"}
    assert DatabaseLogin("postgresql://db/taskflow").parameters() == {}


def test_the_secret_is_read_once_and_again_only_when_asked():
    values = iter(['{"username": "u", "password": "first"}', '{"username": "u", "password": "rotated"}'])
    login = DatabaseLogin("postgresql://db/taskflow", lambda: next(values))
    assert login.parameters()["password"] == login.parameters()["password"] == "first"
    assert login.parameters(fresh=True)["password"] == "rotated"
    assert login.secret_reads == 2


def test_settings_name_the_secret_by_arn():
    with mock_aws():
        client = boto3.client("secretsmanager", region_name="eu-west-1")
        arn = client.create_secret(Name="api-login", SecretString='{"username": "u", "password": "p"}')["ARN"]
        url = "postgresql://db.internal/taskflow"
        settings = Settings(database_url=url, database_secret_arn=arn, aws_region="eu-west-1")
        assert login_from(settings).parameters() == {"user": "u", "password": "p"}


def test_only_a_refused_login_reads_the_secret_again():
    refused = psycopg.OperationalError('connection failed: FATAL:  password authentication failed for user "u"')
    assert refused_login(refused)
    assert not refused_login(psycopg.OperationalError("connection refused: is the server running?"))
