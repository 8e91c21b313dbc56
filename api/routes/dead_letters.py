"""/dead-letters: the tenant's messages that SQS gave up on, and moving them back to the task queue."""

import asyncio
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from api.auth import TenantDep
from api.dependencies import SessionDep, require_json_body
from api.problems import problem_responses
from api.schemas import DeadLetterPublic, RedriveRequest, RedriveResult
from taskflow.dead_letter_queue import DeadLetterQueue
from taskflow.services.dead_letters import describe_dead_letters, requeue_for_redrive
from taskflow.sqs import queue_url

router = APIRouter(prefix="/dead-letters", tags=["dead letters"], responses=problem_responses(401, 422, 503))


def get_dead_letter_queue(request: Request) -> DeadLetterQueue:
    """The task queue's dead-letter queue, through the app's SQS client (URLs looked up once)."""
    client, name = request.app.state.sqs, request.app.state.settings.queue_name
    return DeadLetterQueue(client, queue_url(client, f"{name}-dlq"), queue_url(client, name))


DeadLetterQueueDep = Annotated[DeadLetterQueue, Depends(get_dead_letter_queue)]


# SQS calls are blocking boto3 calls: they run in a worker thread, never on the event loop.
@router.get("", response_model=list[DeadLetterPublic], operation_id="listDeadLetters")
async def list_dead_letters(
    tenant_id: TenantDep,
    session: SessionDep,
    queue: DeadLetterQueueDep,
    limit: Annotated[int, Query(ge=1, le=1000, description="how many dead letters to read at most")] = 100,
) -> list[DeadLetterPublic]:
    """Peek at the tenant's messages in the dead-letter queue, without consuming them."""
    letters = await asyncio.to_thread(queue.peek, limit)
    views = await session.run_sync(describe_dead_letters, letters, tenant_id)
    return [DeadLetterPublic.model_validate(view) for view in views]


@router.post(
    "/redrive",
    response_model=RedriveResult,
    operation_id="redriveDeadLetters",
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(400, 413, 415),
)
async def redrive_dead_letters(
    tenant_id: TenantDep, session: SessionDep, queue: DeadLetterQueueDep, request: RedriveRequest | None = None
) -> RedriveResult:
    """Move the tenant's dead letters (or those of the given tasks) back to the task queue, queuing their failed
    tasks again first, so that no message arrives for a task still marked failed."""
    wanted = set(request.task_ids) if request and request.task_ids is not None else None
    letters = await asyncio.to_thread(queue.peek, 1000)
    named = {letter.task_id for letter in letters if letter.task_id and (wanted is None or letter.task_id in wanted)}
    movable = await session.run_sync(requeue_for_redrive, named, tenant_id)
    moved = await asyncio.to_thread(queue.move_back, lambda letter: letter.task_id in movable)
    return RedriveResult(task_ids=sorted({letter.task_id for letter in moved}, key=str))
