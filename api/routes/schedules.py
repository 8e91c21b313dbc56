"""/schedules: recurring tasks. The relay fires them (each occurrence one task); the API only keeps them."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Header, Response, status

from api.auth import TenantDep
from api.dependencies import SessionDep, require_json_body
from api.problems import problem_responses
from api.routes.tasks import expected_version
from api.schedule_schemas import ScheduleCreate, SchedulePublic, ScheduleUpdate
from taskflow.db.models import Schedule
from taskflow.services import schedules as schedule_service

router = APIRouter(
    prefix="/schedules",
    tags=["schedules"],
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(400, 401, 404, 413, 415, 422, 503),
)


def schedule_response(schedule: Schedule, response: Response) -> SchedulePublic:
    """The schedule's public form, with its version as the ETag."""
    response.headers["ETag"] = f'"{schedule.version}"'
    return SchedulePublic.model_validate(schedule)


@router.post("", status_code=status.HTTP_201_CREATED, response_model=SchedulePublic, operation_id="createSchedule")
async def create_schedule(
    body: ScheduleCreate, tenant: TenantDep, session: SessionDep, response: Response
) -> SchedulePublic:
    """Create a recurring schedule; its first occurrence is the first after now."""
    fields = body.model_dump() | {"task_type": body.type}
    schedule = await session.run_sync(schedule_service.create_schedule, tenant_id=tenant, fields=fields)
    response.headers["Location"] = f"/schedules/{schedule.id}"
    return schedule_response(schedule, response)


@router.get("", response_model=list[SchedulePublic], operation_id="listSchedules")
async def list_schedules(tenant: TenantDep, session: SessionDep) -> list[SchedulePublic]:
    """The tenant's schedules, oldest first."""
    found = await session.run_sync(schedule_service.list_schedules, tenant_id=tenant)
    return [SchedulePublic.model_validate(schedule) for schedule in found]


@router.get("/{schedule_id}", response_model=SchedulePublic, operation_id="getSchedule")
async def get_schedule(schedule_id: UUID, tenant: TenantDep, session: SessionDep, response: Response) -> SchedulePublic:
    """One schedule."""
    schedule = await session.run_sync(schedule_service.tenant_schedule, tenant, schedule_id)
    return schedule_response(schedule, response)


PRECONDITIONS = problem_responses(412, 428)


@router.patch("/{schedule_id}", response_model=SchedulePublic, operation_id="updateSchedule", responses=PRECONDITIONS)
async def update_schedule(
    schedule_id: UUID,
    body: ScheduleUpdate,
    tenant: TenantDep,
    session: SessionDep,
    response: Response,
    if_match: Annotated[str | None, Header(description="the schedule's ETag, as last read")] = None,
) -> SchedulePublic:
    """Change, pause (`"paused": true`) or resume a schedule; resumed, it starts from its next occurrence."""
    schedule = await session.run_sync(
        schedule_service.update_schedule,
        tenant_id=tenant,
        schedule_id=schedule_id,
        expected_version=expected_version(if_match),
        changes=body.model_dump(exclude_unset=True),
    )
    return schedule_response(schedule, response)


@router.post("/{schedule_id}/pause", response_model=SchedulePublic, operation_id="pauseSchedule")
async def pause_schedule(
    schedule_id: UUID, tenant: TenantDep, session: SessionDep, response: Response
) -> SchedulePublic:
    """Stop firing; the tasks already made are not touched."""
    return await _set_paused(schedule_id, tenant, session, response, paused=True)


@router.post("/{schedule_id}/resume", response_model=SchedulePublic, operation_id="resumeSchedule")
async def resume_schedule(
    schedule_id: UUID, tenant: TenantDep, session: SessionDep, response: Response
) -> SchedulePublic:
    """Fire again from the next occurrence after now; what it missed while paused does not run."""
    return await _set_paused(schedule_id, tenant, session, response, paused=False)


async def _set_paused(schedule_id: UUID, tenant, session, response: Response, *, paused: bool) -> SchedulePublic:
    schedule = await session.run_sync(
        schedule_service.update_schedule,
        tenant_id=tenant,
        schedule_id=schedule_id,
        expected_version=None,
        changes={"paused": paused},
    )
    return schedule_response(schedule, response)


@router.delete("/{schedule_id}", status_code=status.HTTP_204_NO_CONTENT, operation_id="deleteSchedule")
async def delete_schedule(schedule_id: UUID, tenant: TenantDep, session: SessionDep) -> None:
    """Delete a schedule; the tasks it made stay."""
    await session.run_sync(schedule_service.delete_schedule, tenant_id=tenant, schedule_id=schedule_id)
