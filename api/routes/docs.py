"""The API's documentation: Swagger UI at /docs, every file of it served by the API itself (no CDN), so the
page runs under the same Content-Security-Policy as the dashboard (see api/security_headers.py)."""

from pathlib import Path

import fastapi_offline
from fastapi import APIRouter, FastAPI
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

PAGE = Path(__file__).resolve().parent.parent / "docs"
# Swagger UI's own files, as the fastapi-offline package ships them.
SWAGGER_UI = Path(fastapi_offline.__file__).resolve().parent / "static"

router = APIRouter(include_in_schema=False)


@router.get("/docs")
async def docs() -> FileResponse:
    """Swagger UI on /openapi.json (Authorize with an API key)."""
    return FileResponse(PAGE / "index.html")


@router.get("/docs/start.js")
async def start_script() -> FileResponse:
    return FileResponse(PAGE / "start.js", media_type="text/javascript")


def mount_swagger_ui(app: FastAPI) -> None:
    """Serve Swagger UI's files under /docs/assets."""
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_UI), name="docs-assets")
