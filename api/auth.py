"""Who is calling: the tenant behind the X-API-Key header.

Lookups, hits and misses alike, are cached for API_KEY_CACHE_SECONDS in a cache of at most API_KEY_CACHE_SIZE
keys (least recently used go first), so the hot path pays no query and a burst of bad keys stays cheap:
- a string that cannot be a key (wrong prefix or length) is refused without a query;
- a well-formed unknown key costs one query, then is refused from the cache like any known miss;
- concurrent requests with one uncached key share one query, and at most LOOKUPS_AT_ONCE queries run at a
  time, so bad keys cannot take the pool away from the good ones.
A revoked key therefore stops working within API_KEY_CACHE_SECONDS, open streams included (they re-check it).
"""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated

from cachetools import TTLCache
from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader

from taskflow.domain.errors import NotAuthenticated
from taskflow.services.api_keys import hash_key, looks_like_a_key, tenant_of_key

LOOKUPS_AT_ONCE = 4

api_key_header = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="A key from `taskflow keys create TENANT`."
)


class ApiKeys:
    """Resolves keys to tenants through a bounded, expiring cache of hits and misses; `look_up` asks the database."""

    def __init__(
        self,
        look_up: Callable[[str], Awaitable[uuid.UUID | None]],
        seconds: float,
        size: int,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.look_up = look_up
        self.cache: TTLCache[str, uuid.UUID | None] = TTLCache(maxsize=size, ttl=seconds, timer=clock)
        self.in_flight: dict[str, asyncio.Task] = {}
        self.lookups = asyncio.Semaphore(LOOKUPS_AT_ONCE)

    async def tenant_of(self, key: str) -> uuid.UUID | None:
        """The tenant of an unrevoked key; None for anything else."""
        if not looks_like_a_key(key):
            return None
        key_hash = hash_key(key)
        if key_hash in self.cache:
            return self.cache[key_hash]
        lookup = self.in_flight.get(key_hash)
        if lookup is None:
            lookup = self.in_flight[key_hash] = asyncio.ensure_future(self._look_up(key, key_hash))
            lookup.add_done_callback(lambda done: self._forget(key_hash, done))
        return await asyncio.shield(lookup)  # one caller giving up does not cancel the others' lookup

    def _forget(self, key_hash: str, lookup: asyncio.Task) -> None:
        self.in_flight.pop(key_hash, None)
        if not lookup.cancelled():
            lookup.exception()  # a failure every caller gave up on is still seen, not reported as never retrieved

    async def _look_up(self, key: str, key_hash: str) -> uuid.UUID | None:
        async with self.lookups:
            tenant_id = await self.look_up(key)
        self.cache[key_hash] = tenant_id
        return tenant_id


def database_lookup(sessions) -> Callable[[str], Awaitable[uuid.UUID | None]]:
    """`look_up` for ApiKeys: the key's tenant, read with a session of its own."""

    async def look_up(key: str) -> uuid.UUID | None:
        async with sessions() as session:
            return await session.run_sync(tenant_of_key, key)

    return look_up


async def current_tenant(request: Request, key: Annotated[str | None, Security(api_key_header)]) -> uuid.UUID:
    """The id of the tenant whose key the request carries; NotAuthenticated otherwise."""
    if not key:
        raise NotAuthenticated("send an API key in the X-API-Key header")
    tenant_id = await request.app.state.api_keys.tenant_of(key)
    if tenant_id is None:
        raise NotAuthenticated("the API key is unknown or revoked")
    return tenant_id


TenantDep = Annotated[uuid.UUID, Depends(current_tenant)]
