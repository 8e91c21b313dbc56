"""Figures shared by a tenant's open dashboards: one computation per key and period, however many ask."""

import asyncio

import pytest

from api.shared_figures import SharedFigures


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_concurrent_askers_share_one_computation_until_it_is_too_old():
    clock, computed = Clock(), []

    async def compute(key):
        computed.append(key)
        await asyncio.sleep(0.01)
        return f"{key} #{len(computed)}"

    async def scenario():
        shared = SharedFigures(seconds=2, clock=clock)
        first = await asyncio.gather(*(shared.get("a", lambda: compute("a")) for _ in range(200)))
        other = await shared.get("b", lambda: compute("b"))
        clock.now = 1.9
        still = await shared.get("a", lambda: compute("a"))
        clock.now = 2.1
        fresh = await shared.get("a", lambda: compute("a"))
        return first, other, still, fresh

    first, other, still, fresh = asyncio.run(scenario())
    assert set(first) == {"a #1"} and other == "b #2" and still == "a #1" and fresh == "a #3"


def test_a_failed_computation_is_not_kept_and_a_caller_giving_up_cancels_no_one():
    attempts = []

    async def compute():
        attempts.append(1)
        await asyncio.sleep(0.01)
        if len(attempts) == 1:
            raise ConnectionError("the database went away")
        return "figures"

    async def scenario():
        shared = SharedFigures(seconds=60)
        with pytest.raises(ConnectionError):
            await shared.get("a", compute)
        impatient = asyncio.ensure_future(shared.get("a", compute))
        patient = asyncio.ensure_future(shared.get("a", compute))
        await asyncio.sleep(0)
        impatient.cancel()
        return await patient

    assert asyncio.run(scenario()) == "figures" and len(attempts) == 2
