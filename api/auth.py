"""Who is calling: the tenant behind the X-API-Key header.

Lookups are cached for KEY_CACHE_SECONDS so that the hot path does not pay a query per request;
a revoked key therefore stops working within that time. Unknown keys are never cached.
"""

import time
import uuid
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from taskflow.domain.errors import NotAuthenticated
from taskflow.services.api_keys import hash_key, tenant_of_key

KEY_CACHE_SECONDS = 30.0

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key from `python -m taskflow.manage_keys create TENANT`."
)


class TenantCache:
    """Key hash -> (tenant id, time it stops being trusted)."""

    def __init__(self, seconds: float = KEY_CACHE_SECONDS) -> None:
        self.seconds = seconds
        self.entries: dict[str, tuple[uuid.UUID, float]] = {}

    def get(self, key_hash: str) -> uuid.UUID | None:
        entry = self.entries.get(key_hash)
        if entry is None or entry[1] < time.monotonic():
            self.entries.pop(key_hash, None)
            return None
        return entry[0]

    def put(self, key_hash: str, tenant_id: uuid.UUID) -> None:
        self.entries[key_hash] = (tenant_id, time.monotonic() + self.seconds)


async def current_tenant(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> uuid.UUID:
    """The id of the tenant whose key the request carries; NotAuthenticated otherwise."""
    if not key:
        raise NotAuthenticated("send an API key in the X-API-Key header")
    cache: TenantCache = request.app.state.tenant_cache
    key_hash = hash_key(key)
    tenant_id = cache.get(key_hash)
    if tenant_id is None:
        async with request.app.state.sessions() as session:
            tenant_id = await session.scalar(tenant_of_key(key))
        if tenant_id is None:
            raise NotAuthenticated("the API key is unknown or revoked")
        cache.put(key_hash, tenant_id)
    return tenant_id


TenantDep = Annotated[uuid.UUID, Depends(current_tenant)]
