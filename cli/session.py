"""The operator's database session."""

from collections.abc import Iterator
from contextlib import contextmanager

import click
from pydantic import ValidationError
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from cli.settings import OperatorSettings
from taskflow.db.engine import make_engine, make_session_factory
from taskflow.db.login import login_from
from taskflow.domain.errors import TaskflowError

CONNECT_SECONDS = 5  # an unreachable server is reported, not waited on


@contextmanager
def operator_session() -> Iterator[Session]:
    """A session on DATABASE_URL, as the operator's login; a domain or database error ends the command with a
    one-line message, never a traceback."""
    settings = operator_settings()
    try:
        engine = make_engine(
            settings.database_url, pool_size=1, connect_timeout=CONNECT_SECONDS, login=login_from(settings)
        )
    except Exception as error:  # a malformed URL, a secret that cannot be read
        raise click.ClickException(f"cannot use DATABASE_URL: {error}") from None
    try:
        with make_session_factory(engine)() as session:
            yield session
    except TaskflowError as error:
        raise click.ClickException(str(error)) from None
    except DBAPIError as error:
        raise click.ClickException(f"the database refused: {first_line(error.orig)}") from None
    finally:
        engine.dispose()


def operator_settings() -> OperatorSettings:
    """The settings, or a one-line error naming what is missing or malformed."""
    try:
        return OperatorSettings()
    except ValidationError as error:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])).upper()}: {e['msg']}" for e in error.errors())
        raise click.ClickException(f"{problems} (load the stack's settings: set -a; . .data/dev.env; set +a)") from None


def first_line(error: BaseException | None) -> str:
    """An error's first line: what the operator reads instead of a traceback."""
    return (str(error).strip().splitlines() or ["unknown error"])[0]
