"""Publishers and subscribers racing: every subscriber sees every id of its channel once, in order."""

from __future__ import annotations

import asyncio
import random

import pytest

CHANNEL_TYPES = {"hft": "hft.error", "prediction": "predictor.error", "automation": None}


@pytest.mark.parametrize("seed", range(6))
async def test_replay_live_switch_has_no_gap_and_no_duplicate(open_bus, recorder, seed: int) -> None:
    rng = random.Random(seed)
    bus = await open_bus(max_batch=rng.choice([1, 3, 64]), replay_page=rng.choice([1, 7, 50]))
    published: dict[str, list[int]] = {"hft": [], "prediction": []}
    subscribers: list[tuple[str, int | None, object]] = []

    async def publisher(n: int) -> None:
        for i in range(n):
            channel = rng.choice(["hft", "prediction"])
            event = await bus.publish(channel, CHANNEL_TYPES[channel], {"error": str(i)})
            published[channel].append(event.id)
            if rng.random() < 0.3:
                await asyncio.sleep(0)

    async def joiner(count: int) -> None:
        for _ in range(count):
            for _ in range(rng.randrange(0, 20)):
                await asyncio.sleep(0)
            channel = rng.choice(["hft", "prediction"])
            after = rng.choice([None, 0, rng.randrange(0, bus.head_id + 1)])
            rec = recorder()
            subscribers.append((channel, after, rec))
            await bus.subscribe(channel, rec, after=after, epoch=bus.epoch)

    await asyncio.gather(*(publisher(150) for _ in range(4)), *(joiner(10) for _ in range(3)))
    for channel, after, rec in subscribers:
        outcome = rec.outcome  # type: ignore[attr-defined]
        assert outcome.reason is None
        start = outcome.head_id if after is None else after
        expected = sorted(i for i in published[channel] if i > start)
        if expected:
            await rec.wait_for_id(expected[-1])  # type: ignore[attr-defined]
        assert rec.ids == expected, f"{channel} after={after} head={outcome.head_id}"  # type: ignore[attr-defined]
