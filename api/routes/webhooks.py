"""/webhooks: a tenant's completion webhook settings: the hosts its callback URLs may name, and the signing secret
(taskflow.services.webhooks). A task's deliveries are at /tasks/{id}/webhooks."""

from uuid import UUID

from fastapi import APIRouter, Depends

from api.auth import TenantDep
from api.dependencies import SessionDep, require_json_body
from api.problems import problem_responses
from api.schemas import WebhookDeliveryPublic, WebhookSettingsPublic, WebhookSettingsUpdate
from taskflow.domain.errors import WebhooksNotConfigured
from taskflow.services import webhooks
from taskflow.services.tasks import get_task

router = APIRouter(
    prefix="/webhooks",
    tags=["webhooks"],
    dependencies=[Depends(require_json_body)],
    responses=problem_responses(400, 401, 404, 413, 415, 422, 503),
)
# A task's deliveries live under /tasks.
deliveries = APIRouter(tags=["webhooks"], responses=problem_responses(401, 404, 422, 503))


@router.get("", response_model=WebhookSettingsPublic, operation_id="getWebhookSettings")
async def get_webhook_settings(tenant: TenantDep, session: SessionDep) -> WebhookSettingsPublic:
    """Your allowed hosts and signing secret (404 until you set them with PUT)."""
    settings = await session.run_sync(webhooks.webhook_settings, tenant)
    if settings is None:
        raise WebhooksNotConfigured()
    return WebhookSettingsPublic.model_validate(settings)


@router.put("", response_model=WebhookSettingsPublic, operation_id="putWebhookSettings")
async def put_webhook_settings(
    body: WebhookSettingsUpdate, tenant: TenantDep, session: SessionDep
) -> WebhookSettingsPublic:
    """Set the hosts your callback URLs may name; the first time, your signing secret is made too."""
    settings = await session.run_sync(webhooks.configure_webhooks, tenant, body.allowed_hosts)
    return WebhookSettingsPublic.model_validate(settings)


@router.post("/rotate-secret", response_model=WebhookSettingsPublic, operation_id="rotateWebhookSecret")
async def rotate_webhook_secret(tenant: TenantDep, session: SessionDep) -> WebhookSettingsPublic:
    """A new signing secret; every attempt from now on is signed with it."""
    settings = await session.run_sync(webhooks.rotate_secret, tenant)
    if settings is None:
        raise WebhooksNotConfigured()
    return WebhookSettingsPublic.model_validate(settings)


@deliveries.get("/tasks/{task_id}/webhooks", response_model=list[WebhookDeliveryPublic], operation_id="getTaskWebhooks")
async def get_task_webhooks(task_id: UUID, tenant: TenantDep, session: SessionDep) -> list[WebhookDeliveryPublic]:
    """A task's completion webhooks (one per finish), with how their attempts went, oldest first."""
    await session.run_sync(get_task, tenant_id=tenant, task_id=task_id)  # another tenant's task: 404
    found = await session.run_sync(webhooks.deliveries_of, tenant, task_id)
    return [WebhookDeliveryPublic.model_validate(delivery) for delivery in found]
