"""RFC 9457 problem responses for every error, so a client never sees a stack trace or SQL.

Each domain error has a stable `type`; plain HTTP errors (unknown route, wrong method) use about:blank
with the status phrase as the title, as the RFC prescribes.
"""

import logging
from http import HTTPStatus

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, OperationalError
from starlette.exceptions import HTTPException
from starlette.routing import Match

from api.schemas import Problem
from taskflow.domain.errors import (
    IdempotencyKeyReused,
    IllegalTransition,
    InvalidTaskRequest,
    NotAuthenticated,
    PreconditionFailed,
    PreconditionRequired,
    PrerequisiteFailed,
    ScheduleNotFound,
    TaskAlreadyStarted,
    TaskflowError,
    TaskNotFound,
    TaskNotRetryable,
    TaskStillActive,
    TooManySchedules,
    TooManyStreams,
    UnknownPrerequisite,
    UnknownTaskType,
    WebhooksNotConfigured,
)
from taskflow.logs import correlation_id

log = logging.getLogger("api")
MEDIA_TYPE = "application/problem+json"

# domain error -> (HTTP status, stable problem type)
DOMAIN_PROBLEMS: dict[type[TaskflowError], tuple[int, str]] = {
    NotAuthenticated: (401, "not-authenticated"),
    TaskNotFound: (404, "task-not-found"),
    ScheduleNotFound: (404, "schedule-not-found"),
    WebhooksNotConfigured: (404, "webhooks-not-configured"),
    TooManySchedules: (409, "too-many-schedules"),
    UnknownTaskType: (422, "unknown-task-type"),
    IdempotencyKeyReused: (422, "idempotency-key-reused"),
    UnknownPrerequisite: (422, "unknown-prerequisite"),
    InvalidTaskRequest: (422, "invalid-request"),
    IllegalTransition: (409, "illegal-transition"),
    PrerequisiteFailed: (409, "prerequisite-failed"),
    TaskStillActive: (409, "task-still-active"),
    TaskAlreadyStarted: (409, "task-already-started"),
    TaskNotRetryable: (409, "task-not-retryable"),
    PreconditionFailed: (412, "precondition-failed"),
    PreconditionRequired: (428, "precondition-required"),
    TooManyStreams: (429, "too-many-streams"),
}
# Headers a client needs to act on a problem: how to authenticate, when to try again.
PROBLEM_HEADERS = {401: {"WWW-Authenticate": 'ApiKey header="X-API-Key"'}, 429: {"Retry-After": "30"}}


def problem_responses(*statuses: int) -> dict[int, dict]:
    """OpenAPI descriptions of the problem responses an operation can give."""
    schema = {"$ref": "#/components/schemas/Problem"}
    return {
        status: {"description": HTTPStatus(status).phrase, "content": {MEDIA_TYPE: {"schema": schema}}}
        for status in statuses
    }


def install_problem_schema(app: FastAPI) -> None:
    """Add the Problem schema, which the documented error responses refer to, to the OpenAPI document."""
    generate = app.openapi

    def openapi() -> dict:
        if app.openapi_schema is None:
            document = generate()
            schemas = document.setdefault("components", {}).setdefault("schemas", {})
            problem_schema = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
            schemas.update(problem_schema.pop("$defs", {}))
            schemas["Problem"] = problem_schema
        return app.openapi_schema

    app.openapi = openapi


def problem(
    status: int,
    *,
    type_: str = "about:blank",
    title: str | None = None,
    detail: str | None = None,
    headers: dict | None = None,
    **extensions: object,
) -> JSONResponse:
    """A problem+json response; `type_` is a slug from this API or about:blank."""
    body = {
        "type": type_ if type_ == "about:blank" else f"urn:taskflow:problem:{type_}",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        **({"detail": detail} if detail else {}),
        "correlation_id": correlation_id.get(),
        **extensions,
    }
    return JSONResponse(body, status_code=status, media_type=MEDIA_TYPE, headers=headers)


def invalid_request(detail: str, **extensions: object) -> JSONResponse:
    """The 422 problem of a request this API cannot take as it is."""
    return problem(422, type_="invalid-request", title="Invalid request", detail=detail, **extensions)


def _domain_problem(error: TaskflowError) -> tuple[int, str]:
    for cls in type(error).__mro__:
        if cls in DOMAIN_PROBLEMS:
            return DOMAIN_PROBLEMS[cls]
    return 500, "internal-error"


async def on_domain_error(request: Request, error: TaskflowError) -> JSONResponse:
    status, slug = _domain_problem(error)
    extensions = {"errors": error.errors} if isinstance(error, InvalidTaskRequest) and error.errors else {}
    if isinstance(error, UnknownTaskType):
        extensions["known_types"] = error.known
    title = slug.replace("-", " ").capitalize()
    headers = PROBLEM_HEADERS.get(status)
    return problem(
        status, type_=slug, title=title, detail=str(error), instance=request.url.path, headers=headers, **extensions
    )


async def on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    errors = [{"field": ".".join(str(part) for part in e["loc"]), "message": e["msg"]} for e in error.errors()]
    return invalid_request("the request does not match the documented schema", errors=errors)


async def on_http_error(request: Request, error: HTTPException) -> JSONResponse:
    phrase = HTTPStatus(error.status_code).phrase
    detail = error.detail if isinstance(error.detail, str) and error.detail != phrase else None
    headers = dict(getattr(error, "headers", None) or {})
    if error.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return problem(error.status_code, detail=detail, headers=headers or None)


def allowed_methods(request: Request) -> list[str]:
    """Every method some route serves at this path (Starlette names only the first route's)."""
    return sorted(_methods_at(request.app.router.routes, request.scope))


def _methods_at(routes, scope) -> set[str]:
    methods: set[str] = set()
    for route in routes:
        if hasattr(route, "original_router"):  # an included router: look at its own routes
            methods |= _methods_at(route.original_router.routes, scope)
        elif route.matches(scope)[0] is not Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return methods


async def on_unstorable_value(request: Request, error: DataError) -> JSONResponse:
    log.info("refused a value the database cannot store", extra={"path": request.url.path, "error": str(error.orig)})
    return invalid_request("a value in the request cannot be stored (for example a NUL character in a string)")


async def on_database_unavailable(request: Request, error: OperationalError) -> JSONResponse:
    log.warning("database unavailable", extra={"path": request.url.path, "error": str(error.orig)})
    return problem(
        503,
        type_="database-unavailable",
        title="Database unavailable",
        detail="the database cannot be reached right now; retry shortly",
        headers={"Retry-After": "1"},
    )


def install_problem_handlers(app: FastAPI) -> None:
    """Route every error the app can raise through one of the handlers above."""
    app.add_exception_handler(TaskflowError, on_domain_error)
    app.add_exception_handler(RequestValidationError, on_validation_error)
    app.add_exception_handler(HTTPException, on_http_error)
    app.add_exception_handler(OperationalError, on_database_unavailable)
    app.add_exception_handler(DataError, on_unstorable_value)
    # Anything else is a bug: api.unexpected.UnexpectedErrorMiddleware answers it (and, unlike an Exception
    # handler, whose error Starlette raises again to the server, it keeps the traceback out of the server's log).
