"""Upstox feed benchmarks (issue 14): feed decoding and bar building, and tick -> stop exit.

(a) Full-mode protobuf frames built beforehand with the fake Upstox's `full_frame` (each
instrument update carries the previous and the current I1 candle, a 1d and an I30 candle and
its last trade, as Upstox's full feed does), then

1. in process: decode (`FeedResponse.FromString`) + `MinuteBuilder.add` (collecting each
   message's last trades, as the source does for the market feed's tick listeners), and every
   minute's BarSet built (`minute_opens`, `bar_set`) as the source does;
2. over loopback: the fake Upstox sends the frames on its WebSocket and a real
   `UpstoxBarSource` (authorize, subscribe, watchdog, builder) yields the BarSets; the fake
   runs in the same process and takes its share of the CPU, so this figure is conservative.

A tick is one instrument's update in a frame. Target: >= 200,000 ticks/s in one process (the
best of three in-process runs is judged: on a shared machine the others measure its neighbours).

(b) Tick -> stop exit: the fake Upstox, a real `UpstoxBarSource` in the `MarketFeed`, the
trading service wired as a server wires it (durable bus, SQLite journal, paper broker). Each
cycle opens a trade in each of `--trading` instruments at a bar; then, one per sample, a
full-mode frame whose last trade is below an instrument's stop is sent. Timed (perf_counter):
from the feed handing the decoded tick to its listeners to the exit order handed to the paper
broker (the decision: the mailbox, the engine's task, the strategy); the durable commit after
the fill (trading journal commit, then the bus's commit of `hft.exit`, fsynced at
`--bus-synchronous full`) is reported apart, and so is the frame's trip from the fake's send.
Samples are paced at the engine's order limit (10 a second). Target: p99 <= 1 ms.

Run: `python -m bench.upstox [--instruments 500] [--minutes 10] [--per-frame 100]
[--frames-per-minute 200] [--samples 200] [--trading 10] [--bus-synchronous full|normal]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from app.core import heap
from app.core.config import Settings
from app.market.calendar import NseCalendar
from app.market.sources import upstox_source
from app.market.ticks import LastTrades
from app.market.upstox.builder import MinuteBuilder
from app.market.upstox.minutes import MINUTE, bar_set, minute_opens
from app.market.upstox.proto import feed_v3
from app.market.upstox.source import UpstoxBarSource
from app.trading.engine import TradingEngine
from app.trading.orders import OrderRequest, OrderResult
from bench.__main__ import print_verdicts
from bench.trading import WARMUP_BARS, Wired, desk_settings, wired
from tests.market.conftest import ist
from tests.market.upstox.fake import FakeUpstox, full_frame
from tests.trading.stubs import prediction, resolution

TARGET_TICKS = 200_000
TARGET_EXIT_P99_MS = 1.0
START = ist("2024-01-25 10:00")


def frames(keys: list[str], minutes: int, per_frame: int, per_minute: int) -> list[bytes]:
    out = []
    batch = 0
    for m in range(minutes + 1):
        open_ts = START + m * MINUTE
        for f in range(per_minute):
            now_ms = open_ts * 1000 + f * 60_000 // per_minute + 1
            chosen = [keys[(batch * per_frame + j) % len(keys)] for j in range(per_frame)]
            batch += 1
            price = 100.0 + (f % 20) * 0.05
            rows = [(open_ts - MINUTE, 100.0, 101.0, 99.0, 100.5, 500), (open_ts, 100.0, price + 1, 99.0, price, 7 + f)]
            out.append(full_frame(now_ms, {k: rows for k in chosen}))
    out.append(full_frame((START + (minutes + 1) * MINUTE + 3) * 1000, {keys[0]: [(START, 1, 1, 1, 1, 1)]}))
    return out


def in_process(keys: list[str], encoded: list[bytes], calendar: NseCalendar) -> tuple[float, int]:
    decode = feed_v3().FeedResponse.FromString
    builder = MinuteBuilder(tuple(keys), "full", grace=1.0)
    instruments = tuple(keys)
    after, bar_sets = START - 1, 0
    start = time.perf_counter()
    for frame in encoded:
        builder.add(decode(frame), {})  # the ticks too, as the source collects them for the feed
        closed = builder.closed_until()
        if closed is not None:
            for m in minute_opens(calendar, after, closed):
                bar_set(instruments, m, builder.take(m))
                after, bar_sets = m, bar_sets + 1
    return time.perf_counter() - start, bar_sets


async def over_loopback(keys: list[str], encoded: list[bytes], minutes: int, calendar: NseCalendar) -> float:
    fake = await FakeUpstox(tokens=["bench-token"]).start()
    with tempfile.TemporaryDirectory() as tmp:
        source = upstox_source(upstox_settings(fake, keys, Path(tmp) / "token"), calendar=calendar)
        done = asyncio.Event()
        last_open = START + minutes * MINUTE - MINUTE

        async def consume() -> None:
            async for bars in source:
                if bars.open_ts >= last_open:
                    done.set()

        task = asyncio.create_task(consume())
        await fake.wait_for(lambda: len(fake.requests) == 1, timeout=30)
        start = time.perf_counter()
        for frame in encoded:
            await fake.send(frame)
        await asyncio.wait_for(done.wait(), 120)
        elapsed = time.perf_counter() - start
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    await fake.stop()
    return elapsed


def upstox_settings(fake: FakeUpstox, keys: list[str], token: Path) -> Settings:
    token.write_text("bench-token")
    return Settings(
        market_source="upstox",
        market_instruments=",".join(keys),
        upstox_base_url=fake.url,
        upstox_access_token_file=token,
        upstox_bar_grace=1.0,
    )


class ExitStamps:
    """The moments (perf_counter) of the sample in flight: its frame sent, its tick handed on by
    the feed, its exit order handed to the paper broker, filled, and `hft.exit` committed."""

    def __init__(self) -> None:
        self.key = ""
        self.sent = self.handed = self.ordered = self.filled = self.committed = 0.0
        self.done = asyncio.Event()

    def start(self, key: str) -> None:
        self.key = key
        self.done.clear()
        self.sent = time.perf_counter()

    def on_ticks(self, trades: LastTrades) -> None:
        """The feed's first tick listener: the moment the decoded tick is handed on."""
        if self.key in trades:
            self.handed = time.perf_counter()

    def wrap(self, engine: TradingEngine) -> None:
        """Wrap the engine's venue (the paper broker, behind a proxy: compiled, its methods cannot
        be replaced on the instance, app.trading.native) and its outbox's sink to note the moments."""
        sink, stamps = engine.outbox.sink, self

        class TimedVenue:
            def __init__(self, venue: Any) -> None:
                self.venue = venue

            def __getattr__(self, name: str) -> Any:
                return getattr(self.venue, name)

            async def place_order(self, request: OrderRequest) -> OrderResult:
                stamps.ordered = time.perf_counter()
                result: OrderResult = await self.venue.place_order(request)
                stamps.filled = time.perf_counter()
                return result

        class Sink:
            async def publish_many(self, channel: str, events: Any) -> Any:
                result = await sink.publish_many(channel, events)
                if any(type == "hft.exit" for type, _ in events):
                    stamps.committed = time.perf_counter()
                    stamps.done.set()
                return result

        engine.venue = TimedVenue(engine.venue)
        engine.outbox.sink = Sink()


async def _bar(fake: FakeUpstox, engine: TradingEngine, open_ts: int, prices: dict[str, float]) -> None:
    """One bar through the feed (a frame inside the minute, one past its grace); until the engine took it."""
    await fake.send(full_frame((open_ts + 30) * 1000, {k: [(open_ts, p, p, p, p, 10)] for k, p in prices.items()}))
    await fake.send(full_frame((open_ts + MINUTE) * 1000 + 1500, {}))
    while engine.last_bar != (open_ts, open_ts + MINUTE) or engine.busy:  # noqa: ASYNC110 (the engine has no event for it)
        await asyncio.sleep(0.0005)


async def tick_to_exit(samples: int, trading: int, synchronous: str) -> dict[str, Any]:
    keys = [f"NSE_EQ|SIM{i:05d}" for i in range(trading)]
    fake = await FakeUpstox(tokens=["bench-token"]).start()
    stamps = ExitStamps()
    rows: list[tuple[float, float, float, float]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            source = upstox_source(upstox_settings(fake, keys, Path(tmp) / "token"), calendar=NseCalendar())
            settings = desk_settings(
                Path(tmp),
                synchronous,
                None,
                hft_trail_vol=0.0,
                hft_skill_gate=False,  # the tick's path is timed here; the gate's cost: bench.trading
            )
            async with wired(settings, source) as desk:
                desk.feed.add_tick_listener(stamps.on_ticks)  # before the engine's: called first
                await desk.service.start()
                engine = desk.service.engine
                assert engine is not None and isinstance(source, UpstoxBarSource)
                stamps.wrap(engine)
                await fake.wait_for(lambda: len(fake.requests) == 1, timeout=30)
                rows = await _exit_samples(fake, desk, engine, stamps, keys, samples)
    finally:
        await fake.stop()
    ms = np.array(rows) * 1000
    names = ("frame_sent_to_tick_handed_on", "tick_to_exit_order", "paper_fill", "durable_commit")
    return {
        "samples": len(ms),
        "bus_synchronous": synchronous,
        **{f"p{q}_ms": {n: round(float(np.percentile(ms[:, i], q)), 3) for i, n in enumerate(names)} for q in (50, 99)},
        "max_ms": {n: round(float(ms[:, i].max()), 3) for i, n in enumerate(names)},
    }


async def _exit_samples(
    fake: FakeUpstox, desk: Wired, engine: TradingEngine, stamps: ExitStamps, keys: list[str], samples: int
) -> list[tuple[float, float, float, float]]:
    """Warm-up bars, then cycles: a trade in every key at a bar, then one tick below each stop."""
    minute = START
    await fake.send(full_frame((minute - 1) * 1000, {}))  # the clock before START: START is whole
    for k in range(WARMUP_BARS):
        await _bar(fake, engine, minute, {key: 100.0 * (1.001 if k % 2 else 1.0) for key in keys})
        minute += MINUTE
    heap.settle()  # as the server does once started (app.main)
    ids = itertools.count(1)
    rows: list[tuple[float, float, float, float]] = []
    while len(rows) < samples:
        for key in keys:
            await desk.bus.publish("prediction", "prediction.resolved", resolution(key))
            await desk.bus.publish(
                "prediction", "prediction.created", prediction(key, 0.01, ts_pred=minute, id=next(ids))
            )
        await asyncio.sleep(1.05)  # the last exits out of the order rate's window: entries are denied, not paced
        await _bar(fake, engine, minute, dict.fromkeys(keys, 100.0))
        minute += MINUTE
        assert len(engine.book.open) == len(keys), (engine.skipped, engine.denied)
        await asyncio.sleep(1.05)  # the entries' orders out of the order rate's window
        for j, key in enumerate(keys[: samples - len(rows)]):
            paced = time.perf_counter() + 0.11  # 10 orders a second at most
            below = round(engine.book.by_instrument[key].stop - 0.05, 2)
            frame = full_frame((minute + 1) * 1000 + j * 100, {key: [(minute, below, below, below, below, 1)]})
            stamps.start(key)
            await fake.send(frame)
            await asyncio.wait_for(stamps.done.wait(), 10)
            rows.append(
                (
                    stamps.handed - stamps.sent,
                    stamps.ordered - stamps.handed,
                    stamps.filled - stamps.ordered,
                    stamps.committed - stamps.filled,
                )
            )
            await asyncio.sleep(max(0.0, paced - time.perf_counter()))
        await _bar(fake, engine, minute, dict.fromkeys(keys, 100.0))  # the bar of those ticks closes
        minute += MINUTE
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--per-frame", type=int, default=100, help="instrument updates per frame")
    parser.add_argument("--frames-per-minute", type=int, default=200)
    parser.add_argument("--samples", type=int, default=200, help="tick -> stop exit samples")
    parser.add_argument("--trading", type=int, default=10, help="instruments with a trade open per cycle")
    parser.add_argument("--bus-synchronous", choices=("full", "normal"), default="full")
    args = parser.parse_args()
    keys = [f"NSE_EQ|SIM{i:05d}" for i in range(args.instruments)]
    calendar = NseCalendar()
    encoded = frames(keys, args.minutes, args.per_frame, args.frames_per_minute)
    ticks = (len(encoded) - 1) * args.per_frame
    runs = [in_process(keys, encoded, calendar) for _ in range(3)]  # the best of 3: the machine may be shared
    elapsed, bar_sets = min(runs)
    rate = ticks / elapsed
    print(
        f"in process:    {ticks:,} ticks, {bar_sets} BarSets in {elapsed:.2f} s: {rate:,.0f} ticks/s "
        f"(best of {', '.join(f'{ticks / e:,.0f}' for e, _ in runs)})"
    )
    elapsed = asyncio.run(over_loopback(keys, encoded, args.minutes, calendar))
    print(f"over loopback: {ticks:,} ticks in {elapsed:.2f} s: {ticks / elapsed:,.0f} ticks/s (fake in process)")
    exits = asyncio.run(tick_to_exit(args.samples, args.trading, args.bus_synchronous))
    print("tick -> stop exit:", exits)
    p99 = exits["p99_ms"]["tick_to_exit_order"]
    targets = [
        {
            "target": f">= {TARGET_TICKS:,} ticks/s decoded and built into bars (full mode, one process)",
            "measured": rate,
            "pass": rate >= TARGET_TICKS,
            "at_target_conditions": True,
            "shown": f"{rate:,.0f} ticks/s",
        },
        {
            "target": f"tick -> stop exit handed to the paper broker, p99 <= {TARGET_EXIT_P99_MS:g} ms",
            "measured": p99,
            "pass": p99 <= TARGET_EXIT_P99_MS,
            "at_target_conditions": exits["samples"] >= 100,
            "shown": f"{p99:.3f} ms (durable commit apart: p99 {exits['p99_ms']['durable_commit']:.2f} ms)",
        },
    ]
    print_verdicts("Targets (Upstox feed, issue 14)", targets, "fewer than 100 samples")


if __name__ == "__main__":
    main()
