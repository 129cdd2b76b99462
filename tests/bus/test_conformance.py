"""Every bus backend (SQLite, Redis): ordering, validation, resume outcomes, retention."""

from __future__ import annotations

import asyncio

import orjson
import pytest
from prometheus_client import REGISTRY

from app.bus.base import Retention
from app.bus.errors import BusClosed, InvalidEvent, UnknownChannel
from app.bus.subscription import ResumeFailure


def err(text: str) -> dict[str, object]:
    return {"error": text}


async def test_publish_assigns_one_increasing_sequence_across_channels(open_bus) -> None:
    bus = await open_bus()
    a = await bus.publish("hft", "hft.error", err("a"))
    b = await bus.publish("prediction", "predictor.error", err("b"))
    c = await bus.publish("hft", "hft.error", err("c"))
    assert (a.id, b.id, c.id) == (1, 2, 3)
    assert orjson.loads(c.data) == {
        "id": 3,
        "channel": "hft",
        "type": "hft.error",
        "payload": {"error": "c"},
        "ts": c.ts,
    }


async def test_concurrent_publishes_share_transactions_and_keep_order(open_bus) -> None:
    bus = await open_bus()
    commits_before = REGISTRY.get_sample_value("signaldesk_bus_commits_total") or 0
    stored = await asyncio.gather(*(bus.publish("hft", "hft.error", err(str(i))) for i in range(500)))
    commits = (REGISTRY.get_sample_value("signaldesk_bus_commits_total") or 0) - commits_before
    assert 1 <= commits <= 5, "group commit: 500 publishes arriving together take a few transactions"
    assert [e.id for e in stored] == list(range(1, 501))
    assert [orjson.loads(e.data)["payload"]["error"] for e in stored] == [str(i) for i in range(500)]


async def test_invalid_payload_names_the_field_and_stores_nothing(open_bus) -> None:
    bus = await open_bus()
    with pytest.raises(InvalidEvent) as caught:
        await bus.publish("hft", "hft.entry", {"trade_id": "7", "instrument_key": "X", "qty": 1, "entry": 1.0})
    assert [p.path for p in caught.value.problems] == ["payload.trade_id"]
    with pytest.raises(InvalidEvent, match="unknown type"):
        await bus.publish("hft", "hft.bogus", {})
    with pytest.raises(InvalidEvent, match="unknown channel"):
        await bus.publish("nope", "hft.error", err("x"))
    assert bus.head_id == 0
    assert [await bus.history(channel, after=0, limit=10) for channel in bus.channels] == [[]] * len(bus.channels)


async def test_events_and_epoch_survive_reopening(open_bus) -> None:
    first = await open_bus("log")
    for i in range(3):
        await first.publish("hft", "hft.error", err(str(i)))
    epoch = first.epoch
    await first.close()
    second = await open_bus("log")
    assert (second.epoch, second.head_id) == (epoch, 3)
    assert (await second.publish("hft", "hft.error", err("next"))).id == 4


async def test_subscribe_replays_after_then_goes_live(open_bus, recorder) -> None:
    bus = await open_bus()
    for i in range(10):
        await bus.publish(
            "hft" if i % 2 else "training",
            "hft.error" if i % 2 else "training.failed",
            {"error": "x", **({} if i % 2 else {"job_id": "j"})},
        )
    rec = recorder()
    await bus.subscribe("hft", rec, after=4, epoch=bus.epoch)
    assert rec.outcome is not None and rec.outcome.resumed and rec.outcome.reason is None
    assert rec.ids == [6, 8, 10]
    live = await bus.publish("hft", "hft.error", err("live"))
    await rec.wait_for_id(live.id)
    assert rec.ids == [6, 8, 10, 11]


async def test_subscribe_without_after_is_live_only(open_bus, recorder) -> None:
    bus = await open_bus()
    await bus.publish("hft", "hft.error", err("old"))
    rec = recorder()
    await bus.subscribe("hft", rec)
    assert rec.outcome is not None
    assert (rec.outcome.resumed, rec.outcome.reason, rec.outcome.head_id) == (False, None, 1)
    await bus.publish("hft", "hft.error", err("new"))
    await rec.wait_for_id(2)
    assert rec.ids == [2]


@pytest.mark.parametrize(
    ("after", "epoch", "reason"),
    [(99, None, ResumeFailure.AHEAD), (1, "another-epoch", ResumeFailure.EPOCH_CHANGED)],
)
async def test_failed_resume_says_why_and_continues_live(open_bus, recorder, after, epoch, reason) -> None:
    bus = await open_bus()
    for _ in range(3):
        await bus.publish("hft", "hft.error", err("x"))
    rec = recorder()
    await bus.subscribe("hft", rec, after=after, epoch=epoch)
    assert rec.outcome is not None
    assert (rec.outcome.resumed, rec.outcome.reason, rec.outcome.head_id) == (False, reason, 3)
    assert rec.ids == []
    await bus.publish("hft", "hft.error", err("live"))
    await rec.wait_for_id(4)
    assert rec.ids == [4]


async def test_retention_by_count_keeps_newest_and_reports_too_old(open_bus, recorder) -> None:
    bus = await open_bus(retention=Retention(max_events=3, interval=3600))
    for _ in range(5):
        await bus.publish("hft", "hft.error", err("x"))
    await bus.publish("training", "training.failed", {"job_id": "j"})
    assert await bus.prune() == 2
    assert [e.id for e in await bus.history("hft", after=0, limit=100)] == [3, 4, 5]
    assert [e.id for e in await bus.history("training", after=0, limit=100)] == [6]
    assert await bus.floor("hft") == 2

    too_old = recorder()
    await bus.subscribe("hft", too_old, after=1, epoch=bus.epoch)
    assert too_old.outcome is not None and too_old.outcome.reason is ResumeFailure.TOO_OLD
    assert too_old.ids == []

    at_floor = recorder()
    await bus.subscribe("hft", at_floor, after=2, epoch=bus.epoch)
    assert at_floor.outcome is not None and at_floor.outcome.resumed
    assert at_floor.ids == [3, 4, 5]


async def test_retention_by_age(open_bus) -> None:
    now = [1_000_000.0]
    bus = await open_bus(retention=Retention(max_age=60, interval=3600), clock=lambda: now[0])
    await bus.publish("hft", "hft.error", err("old"))
    now[0] += 120
    await bus.publish("hft", "hft.error", err("new"))
    assert await bus.prune() == 1
    assert [e.id for e in await bus.history("hft", after=0, limit=10)] == [2]


async def test_unknown_channel_and_closed_bus(open_bus, recorder) -> None:
    bus = await open_bus()
    with pytest.raises(UnknownChannel):
        await bus.subscribe("nope", recorder())
    with pytest.raises(UnknownChannel):
        await bus.history("nope", after=0, limit=1)
    await bus.close()
    with pytest.raises(BusClosed):
        await bus.publish("hft", "hft.error", err("late"))


async def test_publish_many_is_all_or_nothing_with_consecutive_ids(open_bus, recorder) -> None:
    bus = await open_bus()
    rec = recorder()
    await bus.subscribe("hft", rec)
    with pytest.raises(InvalidEvent) as caught:
        await bus.publish_many("hft", [("hft.error", err("ok")), ("hft.stop", {"unexpected": 1})])
    assert [p.path for p in caught.value.problems] == ["payload.unexpected"]
    assert bus.head_id == 0
    single = bus.publish("hft", "hft.error", err("alone"))
    many = bus.publish_many("hft", [("hft.error", err(str(i))) for i in range(3)])
    one, group = await asyncio.gather(single, many)
    assert [e.id for e in group] == [2, 3, 4] and one.id == 1
    await rec.wait_for_id(4)
    assert rec.ids == [1, 2, 3, 4]


async def test_one_append_of_mixed_channels_and_types_stores_and_delivers_each_event_as_published(
    open_bus, recorder
) -> None:
    bus = await open_bus()

    class Capture(recorder):  # type: ignore[misc, valid-type]
        def __init__(self) -> None:
            super().__init__()
            self.events: list = []

        def deliver(self, batch) -> None:  # type: ignore[no-untyped-def]
            self.events.extend(batch.events)
            super().deliver(batch)

    live = {channel: Capture() for channel in ("hft", "training", "prediction")}
    for channel, rec in live.items():
        await bus.subscribe(channel, rec)
    calls = [
        ("hft", [("hft.error", err("a")), ("hft.stop", {}), ("hft.error", err("b"))]),
        ("training", [("training.failed", {"job_id": "j", "error": "c"})]),
        ("hft", [("hft.error", err('é " \\ 𝄞 ' + "x" * 70_000))]),
        ("prediction", [("predictor.error", err(""))]),
    ]
    groups = await asyncio.gather(*(bus.publish_many(channel, events) for channel, events in calls))
    published = [event for group in groups for event in group]
    assert [e.id for e in published] == list(range(1, 7))
    payloads = [payload for _, events in calls for _, payload in events]
    for event, (channel, type), payload in zip(
        published, [(c, t) for c, events in calls for t, _ in events], payloads, strict=True
    ):
        assert (event.channel, event.type) == (channel, type)
        assert orjson.loads(event.data) == {
            "id": event.id,
            "channel": channel,
            "type": type,
            "payload": payload,
            "ts": event.ts,
        }
    for channel, rec in live.items():
        mine = [e for e in published if e.channel == channel]
        await rec.wait_for_id(mine[-1].id)
        assert rec.events == mine
        assert await bus.history(channel, after=0, limit=10) == mine
