"""/tasks: create, read, list, edit, cancel, retry and delete tasks. Every task response carries its ETag (the
task's version), and an edit names the version it expects with If-Match."""

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Query, Request, Response, status

from api.auth import TenantDep
from api.callbacks import check_callback
from api.dependencies import AutocommitEngineDep, SessionDep, require_json_body
from api.problems import problem_responses
from api.schemas import IsoTimestamp, TaskCreate, TaskEventPublic, TaskListed, TaskPage, TaskPublic, TaskUpdate
from taskflow.db.models import Task
from taskflow.domain.errors import PreconditionFailed, PreconditionRequired
from taskflow.domain.states import TaskStatus
from taskflow.logs import correlation_id
from taskflow.services import creation, listing
from taskflow.services import tasks as task_service

# Any task operation may meet a bad key, a malformed request, too large a body, a missing task or a database outage.
router = APIRouter(
    prefix="/tasks",
    tags=["tasks"],
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(400, 401, 404, 413, 415, 422, 503),
)
CONFLICT = problem_responses(409)


def task_response(task: Task, response: Response) -> TaskPublic:
    """The task's public form, with its version as the response's ETag."""
    response.headers["ETag"] = f'"{task.version}"'
    return TaskPublic.model_validate(task)


def expected_version(if_match: str | None) -> int | None:
    """The version an If-Match header names (None for `*`: any version); 428 without one, 412 for a tag the API
    never issues."""
    if if_match is None:
        raise PreconditionRequired()
    tag = if_match.strip()
    if tag == "*":
        return None
    # A version fits in 18 digits; a longer one is no tag of ours (and int() refuses over 4,300 digits).
    if 2 < len(tag) <= 20 and tag[0] == tag[-1] == '"' and tag[1:-1].isascii() and tag[1:-1].isdigit():
        return int(tag[1:-1])
    raise PreconditionFailed(f'If-Match {tag} is not an ETag of this API (they look like "3")')


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TaskPublic,
    operation_id="createTask",
    responses={200: {"description": "Replayed: this Idempotency-Key already created the task", "model": TaskPublic}},
)
async def create_task(
    body: TaskCreate,
    tenant: TenantDep,
    database: AutocommitEngineDep,
    request: Request,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(min_length=1, max_length=255, description="repeat a create safely: same key, one task")
    ] = None,
) -> TaskPublic:
    """Create a task; the relay sends it to the queue as soon as it is saved, or when it is due (`run_at`,
    `delay_seconds`: it is `scheduled` until then), or once every task it runs `after` has succeeded (it is
    `waiting` until then)."""
    if body.callback_url is not None:
        await check_callback(database, tenant, body.callback_url, request.app.state.settings)
    new = creation.new_task(
        tenant_id=tenant,
        task_type=body.type,
        payload=body.payload,
        priority=body.priority,
        labels=body.labels,
        correlation_id=correlation_id.get(),
        idempotency_key=idempotency_key,
        run_at=body.run_at,
        delay_seconds=body.delay_seconds,
        after=body.after,
        callback_url=body.callback_url,
    )
    async with database.connect() as connection:  # only once the request is valid
        outcome = await connection.run_sync(creation.save_task, new)
    if outcome.created:
        request.app.state.metrics.tasks_created.labels(outcome.task.type).inc()
    else:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/tasks/{outcome.task.id}"
    return task_response(outcome.task, response)


@router.get("/{task_id}", response_model=TaskPublic, operation_id="getTask")
async def get_task(task_id: UUID, tenant: TenantDep, session: SessionDep, response: Response) -> TaskPublic:
    """One task, with its status and, once finished, its result or error."""
    task = await session.run_sync(task_service.get_task, tenant_id=tenant, task_id=task_id)
    return task_response(task, response)


@router.patch(
    "/{task_id}",
    response_model=TaskPublic,
    operation_id="updateTask",
    responses=problem_responses(409, 412, 428),
)
async def update_task(
    task_id: UUID,
    body: TaskUpdate,
    tenant: TenantDep,
    session: SessionDep,
    response: Response,
    if_match: Annotated[str | None, Header(description="the task's ETag, as last read")] = None,
) -> TaskPublic:
    """Change the payload, priority, labels or run time of a task that has not started."""
    task = await session.run_sync(
        task_service.update_task,
        tenant_id=tenant,
        task_id=task_id,
        expected_version=expected_version(if_match),
        changes=body.model_dump(exclude_unset=True),
        correlation_id=correlation_id.get(),
    )
    return task_response(task, response)


@router.post("/{task_id}/cancel", response_model=TaskPublic, operation_id="cancelTask", responses=CONFLICT)
async def cancel_task(task_id: UUID, tenant: TenantDep, session: SessionDep, response: Response) -> TaskPublic:
    """Cancel a scheduled, pending or queued task; it will never run."""
    task = await session.run_sync(
        task_service.cancel_task, tenant_id=tenant, task_id=task_id, correlation_id=correlation_id.get()
    )
    return task_response(task, response)


@router.post("/{task_id}/retry", response_model=TaskPublic, operation_id="retryTask", responses=CONFLICT)
async def retry_task(task_id: UUID, tenant: TenantDep, session: SessionDep, response: Response) -> TaskPublic:
    """Queue a failed task again; its attempts keep counting."""
    task = await session.run_sync(
        task_service.retry_task, tenant_id=tenant, task_id=task_id, correlation_id=correlation_id.get()
    )
    return task_response(task, response)


@router.delete("/{task_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="deleteTask", responses=CONFLICT)
async def delete_task(task_id: UUID, tenant: TenantDep, session: SessionDep) -> None:
    """Remove a finished or cancelled task and its history."""
    await session.run_sync(task_service.delete_task, tenant_id=tenant, task_id=task_id)


@router.get("/{task_id}/events", response_model=list[TaskEventPublic], operation_id="getTaskEvents")
async def get_task_events(task_id: UUID, tenant: TenantDep, session: SessionDep) -> list[TaskEventPublic]:
    """A task's status changes, oldest first."""
    events = await session.run_sync(task_service.get_task_events, tenant_id=tenant, task_id=task_id)
    return [TaskEventPublic.model_validate(event) for event in events]


def listed(task: Task, include: frozenset[str]) -> TaskListed:
    """The task as a listing shows it: its payload and result only if included (they were not loaded otherwise)."""
    fields = TaskListed.model_fields
    shown = [field.validation_alias or name for name, field in fields.items()
             if name not in listing.HEAVY_COLUMNS or name in include]  # fmt: skip
    return TaskListed.model_validate({attribute: getattr(task, attribute) for attribute in shown})


@router.get("", response_model=TaskPage, response_model_exclude_unset=True, operation_id="listTasks")
async def list_tasks(
    tenant: TenantDep,
    session: SessionDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=300, description="next_cursor of the previous page")] = None,
    status: Annotated[list[TaskStatus] | None, Query(description="repeat for several")] = None,
    type: Annotated[str | None, Query(max_length=100, pattern=r"^[\w.-]+$")] = None,
    label: Annotated[str | None, Query(max_length=100, pattern=r"^[\w.:-]+$")] = None,
    created_after: Annotated[IsoTimestamp | None, Query(description="inclusive, ISO 8601 with a timezone")] = None,
    created_before: Annotated[IsoTimestamp | None, Query(description="exclusive, ISO 8601 with a timezone")] = None,
    order: Annotated[Literal["newest", "oldest"], Query()] = "newest",
    include: Annotated[
        str | None,
        Query(
            pattern=r"^(payload|result)(,(payload|result))*$",
            description="payload, result or both (payload,result): shown only if asked for; such a page stops "
            "before MAX_PAGE_BYTES of them",
        ),
    ] = None,
) -> TaskPage:
    """Tasks a page at a time, newest (or oldest) first, optionally filtered."""
    filters = listing.TaskFilter(
        tenant_id=tenant,
        statuses=tuple(status or ()),
        type=type,
        label=label,
        created_after=created_after,
        created_before=created_before,
        oldest_first=order == "oldest",
    )
    included = frozenset(include.split(",")) if include else frozenset()
    max_bytes = request.app.state.settings.max_page_bytes
    page = await session.run_sync(
        listing.list_tasks, limit=limit, cursor=cursor, filters=filters, include=included, max_bytes=max_bytes
    )
    return TaskPage(items=[listed(t, included) for t in page.tasks], next_cursor=page.next_cursor)
