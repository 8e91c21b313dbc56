"""/task-types: what a client can create, with the JSON Schema of each payload."""

from fastapi import APIRouter, Depends

from api.auth import current_tenant
from api.problems import problem_responses
from api.schemas import TaskTypePublic
from taskflow.task_types import all_task_types

router = APIRouter(
    prefix="/task-types",
    tags=["task types"],
    dependencies=[Depends(current_tenant)],
    responses=problem_responses(401, 503),
)


@router.get("", response_model=list[TaskTypePublic], operation_id="listTaskTypes")
async def list_task_types() -> list[TaskTypePublic]:
    """Every registered task type and the schema its payload must satisfy."""
    return [
        TaskTypePublic(
            name=kind.name, description=kind.description, payload_schema=kind.payload_model.model_json_schema()
        )
        for kind in all_task_types()
    ]
