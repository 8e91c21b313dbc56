"""On AWS: let each process's database role (migration 0009) log in with the password of its own secret.

The migration task runs it after `alembic upgrade head`, as the master user (DATABASE_SECRET_ARN), with the roles'
secrets in DATABASE_ROLE_SECRET_ARNS ({"taskflow_api": "arn:...", ...}). Each password is sent as a SCRAM-SHA-256
verifier that libpq computes here, never in clear, so no server log or statement view can hold it.

    python -m taskflow.database_roles
"""

import json

import psycopg
from psycopg import sql

from taskflow.db.login import process_login, secret_reader
from taskflow.settings import get_settings


def set_role_passwords(connection: psycopg.Connection, secrets: dict[str, str]) -> list[str]:
    """Give each role the password of its secret ({role: secret JSON}) and the right to log in; return the roles."""
    for role, secret in secrets.items():
        password = json.loads(secret)["password"]
        verifier = connection.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
        connection.execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(role), verifier))
    return list(secrets)


def main() -> None:
    settings = get_settings()
    secrets = {
        role: secret_reader(arn, settings.aws_region, settings.aws_endpoint_url)()
        for role, arn in settings.database_role_secret_arns.items()
    }
    with process_login().connect(autocommit=True) as connection:
        for role in set_role_passwords(connection, secrets):
            print(f"role {role} may log in with its secret's password")


if __name__ == "__main__":
    main()
