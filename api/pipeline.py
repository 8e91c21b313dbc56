"""The path's figures for one tenant (GET /stats/pipeline, and the `pipeline` event of GET /stream): computed at
most once per PIPELINE_SECONDS per tenant and shared by all its open dashboards (api.shared_figures)."""

import uuid

from fastapi import Request

from api.metrics import queue_depths
from api.schemas import PipelinePublic
from taskflow.services import stats
from taskflow.services.environments import recent_environments

# How old the path's figures may be.
PIPELINE_SECONDS = 2


async def pipeline_figures(request: Request, tenant: uuid.UUID) -> PipelinePublic:
    """The tenant's tasks in each stage now, each stage's times over the last minute, the consumer's environments."""

    async def compute() -> PipelinePublic:
        sessions = request.app.state.sessions  # a session of its own: the figures outlive this request
        async with sessions() as session:
            found = await session.run_sync(stats.pipeline, tenant_id=tenant)
            consumers = [environment.__dict__ for environment in await session.run_sync(recent_environments)]
        stages = {name: times.__dict__ for name, times in found.stages.items()}
        return PipelinePublic(
            **{**found.__dict__, "stages": stages}, queues=await queue_depths(request), consumers=consumers
        )

    return await request.app.state.pipelines.get(tenant, compute)


async def pipeline_event(request: Request, tenant: uuid.UUID) -> bytes:
    """The same figures as a server-sent event, encoded once for all of the tenant's streams."""

    async def encode() -> bytes:
        figures = await pipeline_figures(request, tenant)
        return b"event: pipeline\ndata: " + figures.model_dump_json().encode() + b"\n\n"

    return await request.app.state.pipeline_events.get(tenant, encode)
