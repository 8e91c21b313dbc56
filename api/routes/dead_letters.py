"""/dead-letters: the tenant's messages that SQS gave up on, and dispatching their tasks again."""

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, Query

from api.auth import TenantDep
from api.dependencies import SessionDep, require_json_body
from api.problems import problem_responses
from api.schemas import DeadLetterPage, DeadLetterPublic, RedriveRequest, RedriveResult
from taskflow.services.dead_letters import list_dead_letters as dead_letters_page
from taskflow.services.dead_letters import redrive_dead_letters

router = APIRouter(prefix="/dead-letters", tags=["dead letters"], responses=problem_responses(401, 422, 503))


@router.get("", response_model=DeadLetterPage, operation_id="listDeadLetters")
async def list_dead_letters(
    tenant_id: TenantDep,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="how many dead letters to return at most")] = 100,
    before: Annotated[int | None, Query(ge=1, le=2**63 - 1, description="next_before of the previous page")] = None,
    task_id: Annotated[UUID | None, Query(description="only the letters of this task")] = None,
) -> DeadLetterPage:
    """The tenant's dead letters, newest first: each task's deliveries, first and last failure, last error."""
    page = await session.run_sync(
        dead_letters_page, tenant_id=tenant_id, limit=limit, before_id=before, task_id=task_id
    )
    return DeadLetterPage(
        items=[DeadLetterPublic.model_validate(view) for view in page.letters], next_before=page.next_before
    )


@router.post(
    "/redrive",
    response_model=RedriveResult,
    operation_id="redriveDeadLetters",
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(400, 413, 415),
)
async def redrive(tenant_id: TenantDep, session: SessionDep, request: RedriveRequest | None = None) -> RedriveResult:
    """Dispatch the tenant's dead-lettered tasks again (or those of the given tasks), each with a fresh message and
    its attempts starting over; their letters are removed."""
    wanted = set(request.task_ids) if request and request.task_ids is not None else None
    dispatched = await session.run_sync(redrive_dead_letters, tenant_id, wanted)
    return RedriveResult(task_ids=sorted(dispatched, key=str))
