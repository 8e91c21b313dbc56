"""/stats: the tenant's tasks by status and type, throughput, latency, and the queues' depths."""

from fastapi import APIRouter, Request

from api.auth import TenantDep
from api.dependencies import SessionDep
from api.metrics import queue_depths
from api.problems import problem_responses
from api.schemas import StatsPublic
from taskflow.services.stats import tenant_stats

router = APIRouter(tags=["operations"], responses=problem_responses(401, 503))


@router.get("/stats", response_model=StatsPublic, operation_id="getStats")
async def stats(tenant: TenantDep, session: SessionDep, request: Request) -> StatsPublic:
    """Your tasks by status and type, tasks finished in the last minute and hour, the last hour's p50 and p95
    create-to-finish latency, and the depth of the (shared) queue and dead-letter queue."""
    figures = await session.run_sync(tenant_stats, tenant_id=tenant)
    return StatsPublic(**figures.__dict__, queues=await queue_depths(request))
