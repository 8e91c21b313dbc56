"""taskflow keys: create, list and revoke API keys."""

import boto3
import click

from cli.session import first_line, operator_session, operator_settings
from taskflow.db.models import ApiKey, Tenant
from taskflow.services.api_keys import create_api_key, list_api_keys, revoke_api_key


def _name_of(column):
    """A click callback refusing a name the column cannot hold: empty, blank or too long."""
    most = column.type.length

    def check(_context, parameter, value: str) -> str:
        if not value.strip() or len(value) > most:
            raise click.BadParameter(f"must be 1 to {most} characters, not blank")
        return value

    return check


def _secret_arn(_context, _parameter, value: str | None) -> str | None:
    """A click callback refusing a blank ARN, which would otherwise mean "print the key" (to the logs, on AWS)."""
    if value is not None and not value.strip().startswith("arn:"):
        raise click.BadParameter(f"must be a secret's ARN, not {value!r}")
    return value


@click.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command()
@click.argument("tenant", callback=_name_of(Tenant.name))
@click.option(
    "--name", default="default", show_default=True, help="what the key is for", callback=_name_of(ApiKey.name)
)
@click.option(
    "--to-secret",
    "secret_arn",
    metavar="ARN",
    callback=_secret_arn,
    help="write the key to this Secrets Manager secret instead of printing it (on AWS, output goes to the logs)",
)
def create(tenant: str, name: str, secret_arn: str | None) -> None:
    """Create a key for TENANT (created if new) and print it, or write it to a secret: it is shown only this once."""
    with operator_session() as session:
        api_key, key = create_api_key(session=session, tenant_name=tenant, key_name=name)
        if secret_arn is not None:
            try:
                write_secret(secret_arn, key)
            except BaseException as error:  # Ctrl-C and a malformed endpoint included
                # Nobody will ever see this key: it must not stay usable.
                revoke_api_key(session=session, id_or_prefix=str(api_key.id))
                if not isinstance(error, Exception):
                    raise
                raise click.ClickException(
                    f"cannot write the secret, so key {api_key.prefix}... was revoked: {first_line(error)}"
                ) from None
            click.echo(f"created key {api_key.prefix}... ({api_key.id}) for tenant {tenant}, in {secret_arn}")
            return
    click.echo(f"created key {api_key.prefix}... ({api_key.id}) for tenant {tenant}; it is shown only once:", err=True)
    click.echo(key)


def write_secret(secret_arn: str, value: str) -> None:
    """Make `value` the secret's current value."""
    settings = operator_settings()
    client = boto3.client("secretsmanager", region_name=settings.aws_region, endpoint_url=settings.aws_endpoint_url)
    client.put_secret_value(SecretId=secret_arn, SecretString=value)


@keys.command("list")
def list_keys() -> None:
    """Every key, newest first: prefix, id, tenant, name, state."""
    with operator_session() as session:
        for api_key, tenant in list_api_keys(session=session):
            state = f"revoked {api_key.revoked_at:%Y-%m-%d %H:%M}" if api_key.revoked_at else "active"
            click.echo(f"{api_key.prefix}...  {api_key.id}  {tenant:<20} {api_key.name:<20} {state}")


@keys.command()
@click.argument("id_or_prefix")
def revoke(id_or_prefix: str) -> None:
    """Revoke the key with this id or prefix (the API stops taking it within its key cache's lifetime)."""
    with operator_session() as session:  # a prefix as `keys list` shows it, dots and all, is taken too
        api_key = revoke_api_key(session=session, id_or_prefix=id_or_prefix.removesuffix("..."))
    click.echo(f"revoked {api_key.prefix}... ({api_key.id})")
