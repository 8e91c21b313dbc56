"""Dependencies shared by the routes: a database session or connection per request, a JSON body.

Services take SQLAlchemy's synchronous Session (taskflow.services says why); routes call them with
`await session.run_sync(service, ...)`. Every dependency is `async def`, even one that never awaits: FastAPI runs
a plain `def` in a worker thread, two thread hand-offs on every request (a profile of POST /tasks showed them).
"""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session from the app's pool, closed (and its connection returned) after the request."""
    async with request.app.state.sessions() as session:
        yield session


async def get_autocommit_engine(request: Request) -> AsyncEngine:
    """The pool's connections without an enclosing transaction, for writes that are one atomic statement."""
    return request.app.state.autocommit_engine


async def require_json_body(request: Request) -> None:
    """415 for a request whose body is not declared JSON (FastAPI would otherwise parse text/plain as JSON)."""
    has_body = request.headers.get("content-length", "0") != "0" or "transfer-encoding" in request.headers
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if has_body and media_type != "application/json" and not media_type.endswith("+json"):
        raise HTTPException(415, detail=f"send the body as application/json, not {media_type or 'untyped'}")


SessionDep = Annotated[AsyncSession, Depends(get_session)]
AutocommitEngineDep = Annotated[AsyncEngine, Depends(get_autocommit_engine)]
