"""The operator's database session."""

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from cli.settings import OperatorSettings
from taskflow.db.engine import make_engine, make_session_factory
from taskflow.db.login import login_from
from taskflow.domain.errors import TaskflowError


@contextmanager
def operator_session() -> Iterator[Session]:
    """A session on DATABASE_URL, as the operator's login; a domain error ends the command with its message."""
    settings = OperatorSettings()
    engine = make_engine(settings.database_url, pool_size=1, login=login_from(settings))
    try:
        with make_session_factory(engine)() as session:
            yield session
    except TaskflowError as error:
        raise click.ClickException(str(error)) from None
    finally:
        engine.dispose()
