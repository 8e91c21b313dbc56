"""/stats: the tenant's tasks by status and type, throughput, latency, and the queues' depths; /stats/pipeline and
/stats/history: what the dashboard draws the path and the last minutes from."""

from typing import Annotated

from fastapi import APIRouter, Query, Request

from api.auth import TenantDep
from api.dependencies import SessionDep
from api.metrics import queue_depths
from api.pipeline import pipeline_figures
from api.problems import problem_responses
from api.schemas import HistoryPublic, PipelinePublic, StatsPublic
from taskflow.services import stats as figures

router = APIRouter(tags=["operations"], responses=problem_responses(401, 503))
# How old the history's figures may be: computed once per tenant and window in that time, and shared by all of its
# open dashboards (api.shared_figures).
HISTORY_SECONDS = 10


@router.get("/stats", response_model=StatsPublic, operation_id="getStats")
async def stats(tenant: TenantDep, session: SessionDep, request: Request) -> StatsPublic:
    """Your tasks by status and type, tasks finished in the last minute and hour, the last hour's p50 and p95
    create-to-finish latency, and the depth of the (shared) queue and dead-letter queue."""
    found = await session.run_sync(figures.tenant_stats, tenant_id=tenant)
    return StatsPublic(**found.__dict__, queues=await queue_depths(request))


@router.get("/stats/pipeline", response_model=PipelinePublic, operation_id="getPipeline")
async def pipeline(tenant: TenantDep, request: Request) -> PipelinePublic:
    """Your tasks in each stage of the path now (unsent outbox messages, queued, running, dead letters), the
    p50/p99 time your tasks created in the last minute spent in each stage (relay, SQS, hand-off, function), and
    the consumer's execution environments (shared by every tenant). At most 2 s old; GET /stream sends the same
    figures as its `pipeline` event."""
    return await pipeline_figures(request, tenant)


@router.get(
    "/stats/history", response_model=HistoryPublic, operation_id="getHistory", responses=problem_responses(422)
)
async def history(
    tenant: TenantDep,
    request: Request,
    minutes: Annotated[int, Query(ge=1, le=60, description="how far back")] = 15,
    bucket_seconds: Annotated[int, Query(ge=1, le=300, description="the width of each bucket")] = 10,
) -> HistoryPublic:
    """Your tasks created, succeeded, failed, retried and dead-lettered, and create -> succeeded p50/p99, by type
    and bucket over the last minutes, from what the database holds: a page opened late still shows the past.
    Figures at most HISTORY_SECONDS old."""

    async def compute() -> HistoryPublic:
        sessions = request.app.state.sessions  # a session of its own: the figures outlive this request
        async with sessions() as session:
            since, points = await session.run_sync(
                figures.history, tenant_id=tenant, minutes=minutes, bucket_seconds=bucket_seconds
            )
        return HistoryPublic(since=since, bucket_seconds=bucket_seconds, points=[p.__dict__ for p in points])

    return await request.app.state.histories.get((tenant, minutes, bucket_seconds), compute)
