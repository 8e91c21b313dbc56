"""PostgreSQL credentials from AWS Secrets Manager: on AWS, DATABASE_URL names only the host and the database."""

import json

import boto3
from sqlalchemy.engine import make_url


def with_credentials(database_url: str, secret_string: str) -> str:
    """`database_url` with the username and password of an RDS secret ({"username": ..., "password": ...})."""
    secret = json.loads(secret_string)
    url = make_url(database_url).set(username=secret["username"], password=secret["password"])
    return url.render_as_string(hide_password=False)


def database_url_from_secret(database_url: str, secret_arn: str, region: str, endpoint_url: str | None) -> str:
    """Read the secret once, at start-up (the Lambda's init phase), and complete the URL with it."""
    client = boto3.client("secretsmanager", region_name=region, endpoint_url=endpoint_url)
    return with_credentials(database_url, client.get_secret_value(SecretId=secret_arn)["SecretString"])
