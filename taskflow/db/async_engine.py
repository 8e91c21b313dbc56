"""The API's engine: it serves many requests at once on one event loop, over the same psycopg driver."""

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from taskflow.db.engine import sqlalchemy_url
from taskflow.db.login import DatabaseLogin


def make_async_engine(database_url: str, pool_size: int = 10, login: DatabaseLogin | None = None) -> AsyncEngine:
    """The async twin of make_engine, for the API."""
    # Like make_engine, it keeps a failed statement's values (a tenant's payload) out of errors and logs.
    engine = create_async_engine(
        sqlalchemy_url(database_url), pool_size=pool_size, max_overflow=0, pool_recycle=1800, hide_parameters=True
    )
    if login is not None:
        login.attach(engine.sync_engine)
    return engine


def make_async_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Async sessions that keep loaded objects usable after commit."""
    return async_sessionmaker(engine, expire_on_commit=False)
