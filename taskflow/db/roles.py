"""On AWS: let each process's database role (migration 0009) log in with the password of its own secret
(`taskflow database roles`, in the migration task).

Each password is sent as a SCRAM-SHA-256 verifier that libpq computes here, never in clear, so no server log or
statement view can hold it.
"""

import json

import psycopg
from psycopg import sql


def set_role_passwords(connection: psycopg.Connection, secrets: dict[str, str]) -> list[str]:
    """Give each role the password of its secret ({role: secret JSON}) and the right to log in; return the roles."""
    for role, secret in secrets.items():
        password = json.loads(secret)["password"]
        verifier = connection.pgconn.encrypt_password(password.encode(), role.encode(), b"scram-sha-256").decode()
        connection.execute(sql.SQL("ALTER ROLE {} WITH LOGIN PASSWORD {}").format(sql.Identifier(role), verifier))
    return list(secrets)
