"""The check of a create request's callback_url against its tenant's webhook settings (taskflow.services.webhooks):
one more read, made only when a request asks for a callback."""

from uuid import UUID

from sqlalchemy import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from taskflow.services import webhooks
from taskflow.settings import Settings


async def check_callback(database: AsyncEngine, tenant: UUID, url: str, settings: Settings) -> None:
    """InvalidCallbackUrl unless the tenant may have its webhooks sent to `url`."""
    async with database.connect() as connection:
        await connection.run_sync(_check, tenant, url, settings.webhooks_allow_http_loopback)


def _check(connection: Connection, tenant: UUID, url: str, allow_http_loopback: bool) -> None:
    with Session(connection) as session:
        webhooks.check_callback(session, tenant, url, allow_http_loopback)
