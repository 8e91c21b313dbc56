"""/tasks: create, read and list tasks."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from api.dependencies import AutocommitEngineDep, SessionDep
from api.schemas import TaskCreate, TaskEventPublic, TaskPage, TaskPublic
from taskflow.logs import correlation_id
from taskflow.services import tasks as task_service

router = APIRouter(prefix="/tasks", tags=["tasks"])


@router.post("", status_code=status.HTTP_201_CREATED, response_model=TaskPublic, operation_id="createTask")
async def create_task(body: TaskCreate, database: AutocommitEngineDep, response: Response) -> TaskPublic:
    """Create a task; the relay sends it to the queue as soon as it is saved."""
    task = await task_service.create_task(
        database=database, task_type=body.type, payload=body.payload, correlation_id=correlation_id.get()
    )
    response.headers["Location"] = f"/tasks/{task.id}"
    return TaskPublic.model_validate(task)


@router.get("/{task_id}", response_model=TaskPublic, operation_id="getTask")
async def get_task(task_id: UUID, session: SessionDep) -> TaskPublic:
    """One task, with its status and, once finished, its result or error."""
    return TaskPublic.model_validate(await task_service.get_task(session=session, task_id=task_id))


@router.get("/{task_id}/events", response_model=list[TaskEventPublic], operation_id="getTaskEvents")
async def get_task_events(task_id: UUID, session: SessionDep) -> list[TaskEventPublic]:
    """A task's status changes, oldest first."""
    await task_service.get_task(session=session, task_id=task_id)
    events = await task_service.get_task_events(session=session, task_id=task_id)
    return [TaskEventPublic.model_validate(event) for event in events]


@router.get("", response_model=TaskPage, operation_id="listTasks")
async def list_tasks(
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> TaskPage:
    """Tasks, newest first, a page at a time."""
    page = await task_service.list_tasks(session=session, limit=limit, cursor=cursor)
    return TaskPage(items=[TaskPublic.model_validate(t) for t in page.tasks], next_cursor=page.next_cursor)
