"""Engines and sessions, created once per process."""

from typing import TYPE_CHECKING

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

if TYPE_CHECKING:
    from taskflow.db.login import DatabaseLogin

# The Lambda consumer and the relay handle one batch at a time and use these plain engines; the API's async
# twins live in taskflow.db.async_engine, so the consumer never loads asyncio machinery (or greenlet).


def sqlalchemy_url(database_url: str) -> str:
    """The URL with the psycopg 3 driver named, whatever form the user gave (postgres://, postgresql://)."""
    url = make_url(database_url.replace("postgres://", "postgresql://", 1))
    return url.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)


def libpq_url(database_url: str) -> str:
    """The URL without a SQLAlchemy driver name, for psycopg and libpq tools."""
    url = make_url(sqlalchemy_url(database_url))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def make_engine(
    database_url: str, pool_size: int = 10, connect_timeout: int | None = None, login: "DatabaseLogin | None" = None
) -> Engine:
    """An engine with a fixed-size pool; `connect_timeout` (seconds) bounds a connect to an unreachable server, and
    `login` supplies each new connection's credentials and role (see taskflow.db.login).

    No pre-ping (it costs a round trip per checkout): when PostgreSQL restarts, the first statement on a dead
    connection fails and SQLAlchemy then discards every pooled connection; callers retry (SQS redelivers, the
    relay backs off, an HTTP client gets a 503 problem).
    """
    engine = create_engine(
        sqlalchemy_url(database_url),
        pool_size=pool_size,
        max_overflow=0,  # overflow connections are opened and closed per burst: expensive, so none
        pool_recycle=1800,
        hide_parameters=True,  # a failed statement's values (a tenant's payload) stay out of errors and logs
        connect_args={"connect_timeout": connect_timeout} if connect_timeout else {},
    )
    if login is not None:
        login.attach(engine)
    return engine


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded objects usable after commit."""
    return sessionmaker(engine, expire_on_commit=False)
