"""The API's key cache: hits and misses cached, bounded, one query per key however many ask at once, and none at
all for what cannot be a key. A fake lookup stands in for the database and counts the queries."""

import asyncio
import secrets
import uuid

from api.auth import LOOKUPS_AT_ONCE, ApiKeys
from taskflow.services.api_keys import KEY_PREFIX, hash_key

TENANT = uuid.uuid4()


def a_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


class FakeDatabase:
    """Answers key lookups from a dict, slowly enough for concurrent callers to overlap; counts them."""

    def __init__(self, known: dict[str, uuid.UUID] | None = None) -> None:
        self.known = known or {}
        self.lookups = self.at_once = self.most_at_once = 0

    async def __call__(self, key: str) -> uuid.UUID | None:
        self.lookups += 1
        self.at_once += 1
        self.most_at_once = max(self.most_at_once, self.at_once)
        await asyncio.sleep(0.01)  # a query's round trip, so that concurrent callers overlap
        self.at_once -= 1
        return self.known.get(hash_key(key))


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


async def resolve(keys: ApiKeys, candidates: list[str]) -> list[uuid.UUID | None]:
    return list(await asyncio.gather(*(keys.tenant_of(key) for key in candidates)))


def test_strings_that_cannot_be_keys_cost_no_query():
    database = FakeDatabase()
    garbage = [secrets.token_hex(16) for _ in range(400)] + ["tf_short", "tf_" + "x" * 44, "TF_" + "a" * 43]
    assert asyncio.run(resolve(ApiKeys(database, 30, 100), garbage)) == [None] * len(garbage)
    assert database.lookups == 0


def test_a_bad_key_sent_400_times_at_once_costs_one_query():
    database = FakeDatabase()
    assert asyncio.run(resolve(ApiKeys(database, 30, 100), [a_key()] * 400)) == [None] * 400
    assert database.lookups == 1


def test_a_burst_of_well_formed_bad_keys_queries_a_few_at_a_time():
    database = FakeDatabase()
    asyncio.run(resolve(ApiKeys(database, 30, 1000), [a_key() for _ in range(400)]))
    assert database.lookups == 400 and database.most_at_once <= LOOKUPS_AT_ONCE


def test_a_good_key_is_cached_and_the_least_recently_used_keys_go_first():
    good = a_key()
    database = FakeDatabase({hash_key(good): TENANT})
    keys = ApiKeys(database, 30, size=3)

    async def scenario():
        assert await resolve(keys, [good] * 50) == [TENANT] * 50
        await resolve(keys, [a_key() for _ in range(3)])  # three newer keys push the good one out
        assert len(keys.cache) == 3
        assert await resolve(keys, [good]) == [TENANT]

    asyncio.run(scenario())
    assert database.lookups == 5


def test_an_entry_expires_so_a_revocation_is_seen_within_the_cache_life():
    good, clock = a_key(), Clock()
    database = FakeDatabase({hash_key(good): TENANT})
    keys = ApiKeys(database, 30, 10, clock=clock)

    async def scenario():
        assert await resolve(keys, [good]) == [TENANT]
        database.known.clear()  # revoked
        clock.now = 29.9
        assert await resolve(keys, [good]) == [TENANT], "still cached"
        clock.now = 30.1
        assert await resolve(keys, [good]) == [None]

    asyncio.run(scenario())
