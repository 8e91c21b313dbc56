"""taskflow database roles: on AWS, let each process's role log in with its own secret's password."""

import click
import psycopg
from botocore.exceptions import BotoCoreError, ClientError

from cli.session import first_line, operator_settings
from taskflow.db.login import login_from, secret_reader
from taskflow.db.roles import set_role_passwords


@click.group()
def database() -> None:
    """The database's process roles (migration 0009)."""


@database.command()
def roles() -> None:
    """Give each role in DATABASE_ROLE_SECRET_ARNS its secret's password and the right to log in.

    The migration task runs it after `alembic upgrade head`, as the master user (DATABASE_SECRET_ARN).
    """
    settings = operator_settings()
    try:
        secrets = {
            role: secret_reader(arn, settings.aws_region, settings.aws_endpoint_url)()
            for role, arn in settings.database_role_secret_arns.items()
        }
        with login_from(settings).connect(autocommit=True) as connection:
            for role in set_role_passwords(connection, secrets):
                click.echo(f"role {role} may log in with its secret's password")
    except (BotoCoreError, ClientError) as error:
        raise click.ClickException(f"cannot read a secret: {error}") from None
    except psycopg.Error as error:
        raise click.ClickException(f"the database refused: {first_line(error)}") from None
