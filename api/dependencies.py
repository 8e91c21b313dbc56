"""Dependencies shared by the routes: a database session per request, the settings."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from taskflow.settings import Settings


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session from the app's pool, closed (and its connection returned) after the request."""
    async with request.app.state.sessions() as session:
        yield session


def get_autocommit_engine(request: Request) -> AsyncEngine:
    """The pool's connections without an enclosing transaction, for writes that are one atomic statement."""
    return request.app.state.autocommit_engine


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[AsyncSession, Depends(get_session)]
AutocommitEngineDep = Annotated[AsyncEngine, Depends(get_autocommit_engine)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
