"""How a process logs in to PostgreSQL: its credentials, which may change under it, and the role it acts as.

On AWS a process's user and password come from a Secrets Manager secret (DATABASE_SECRET_ARN), one per process,
which may be rotated. Pools open connections all the time (they recycle them every 30 minutes), so a process
that read its secret once would fail on its first new connection after a rotation. Instead every connection
asks the login for the current credentials, and when the server refuses them the secret is read again and the
connection tried once more.

Locally, DATABASE_ROLE makes a process act as its production role (`SET ROLE` at connect, as the server's
superuser): the same grants as on AWS, so a missing grant breaks `make dev` and the tests, not a deploy.
"""

import json
import threading
from collections.abc import Callable
from functools import cache

import psycopg
from sqlalchemy import Engine, event

from taskflow.db.engine import libpq_url
from taskflow.settings import Settings, get_settings

# SQLSTATE 28P01 (invalid_password) and 28000 (invalid_authorization_specification): the credentials were refused.
REFUSED_LOGIN = {"28P01", "28000"}


def refused_login(error: BaseException) -> bool:
    """Whether a failed connect was the server refusing the credentials (rather than being unreachable)."""
    return getattr(error, "sqlstate", None) in REFUSED_LOGIN or "password authentication failed" in str(error)


class DatabaseLogin:
    """The URL to connect to, with the user and password of a secret (read again when refused), as a role."""

    def __init__(self, url: str, read_secret: Callable[[], str] | None = None, role: str | None = None) -> None:
        self.url = url
        self.read_secret = read_secret
        self.role = role
        self.secret_reads = 0
        self._credentials: dict[str, str] = {}
        self._lock = threading.Lock()

    def parameters(self, *, fresh: bool = False) -> dict[str, str]:
        """Connection parameters that override the URL's: the secret's user and password, the role to act as."""
        parameters = {"options": f"-c role={self.role}"} if self.role else {}
        if self.read_secret is not None:
            with self._lock:
                if fresh or not self._credentials:
                    secret = json.loads(self.read_secret())
                    self._credentials = {"user": secret["username"], "password": secret["password"]}
                    self.secret_reads += 1
                parameters |= self._credentials
        return parameters

    def connect(self, **options) -> psycopg.Connection:
        """A psycopg connection (for LISTEN), retried once with the secret read again if the login is refused."""
        try:
            return psycopg.connect(libpq_url(self.url), **self.parameters(), **options)
        except psycopg.OperationalError as error:
            if self.read_secret is None or not refused_login(error):
                raise
            return psycopg.connect(libpq_url(self.url), **self.parameters(fresh=True), **options)

    async def connect_async(self, **options) -> psycopg.AsyncConnection:
        """The async twin of `connect`, for the API's live feed."""
        try:
            return await psycopg.AsyncConnection.connect(libpq_url(self.url), **self.parameters(), **options)
        except psycopg.OperationalError as error:
            if self.read_secret is None or not refused_login(error):
                raise
            return await psycopg.AsyncConnection.connect(libpq_url(self.url), **self.parameters(fresh=True), **options)

    def attach(self, engine: Engine) -> None:
        """Make every new connection of `engine` (an async engine's sync_engine too) use this login."""

        @event.listens_for(engine, "do_connect")
        def connect_with_current_credentials(dialect, connection_record, cargs, cparams):
            cparams.update(self.parameters())
            try:
                return dialect.connect(*cargs, **cparams)
            except Exception as error:
                if self.read_secret is None or not refused_login(error):
                    raise
                cparams.update(self.parameters(fresh=True))
                return dialect.connect(*cargs, **cparams)


def secret_reader(secret_arn: str, region: str, endpoint_url: str | None) -> Callable[[], str]:
    """A function that reads the secret's current value from Secrets Manager."""
    import boto3  # only where a secret is used: the consumer image carries boto3, its tests need no AWS

    client = boto3.client("secretsmanager", region_name=region, endpoint_url=endpoint_url)
    return lambda: client.get_secret_value(SecretId=secret_arn)["SecretString"]


def login_from(settings: Settings) -> DatabaseLogin:
    """The login the settings describe (DATABASE_URL, DATABASE_SECRET_ARN, DATABASE_ROLE)."""
    reader = None
    if settings.database_secret_arn:
        reader = secret_reader(settings.database_secret_arn, settings.aws_region, settings.aws_endpoint_url)
    return DatabaseLogin(settings.database_url, reader, settings.database_role)


@cache
def process_login() -> DatabaseLogin:
    """This process's login, from its settings, made once."""
    return login_from(get_settings())
