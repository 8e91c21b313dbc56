"""Dependencies shared by the routes: a database session per request, the settings."""

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from taskflow.settings import Settings


def get_session(request: Request) -> Iterator[Session]:
    """A session from the app's pool, closed (and its connection returned) after the request."""
    with request.app.state.sessions() as session:
        yield session


def get_app_settings(request: Request) -> Settings:
    return request.app.state.settings


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
