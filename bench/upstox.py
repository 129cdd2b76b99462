"""Upstox feed benchmark: full-mode protobuf frames from the fake Upstox turned into 1m BarSets.

Frames are built beforehand with the fake's `full_frame` (each instrument update carries the
previous and the current I1 candle, a 1d and an I30 candle, as Upstox's full feed does), then

1. in process: decode (`FeedResponse.FromString`) + `MinuteBuilder.add`, and every minute's
   BarSet built (`minute_opens`, `bar_set`) as the source does;
2. over loopback: the fake Upstox sends the frames on its WebSocket and a real
   `UpstoxBarSource` (authorize, subscribe, watchdog, builder) yields the BarSets; the fake
   runs in the same process and takes its share of the CPU, so this figure is conservative.

A tick is one instrument's update in a frame. Target (issue 14): >= 200,000 ticks/s.

Run: `python -m bench.upstox [--instruments 500] [--minutes 10] [--per-frame 100] [--frames-per-minute 200]`.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from app.core.config import Settings
from app.market.calendar import NseCalendar
from app.market.sources import upstox_source
from app.market.upstox.builder import MinuteBuilder
from app.market.upstox.minutes import MINUTE, bar_set, minute_opens
from app.market.upstox.proto import feed_v3
from tests.market.conftest import ist
from tests.market.upstox.fake import FakeUpstox, full_frame

TARGET_TICKS = 200_000
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
        token = Path(tmp) / "token"
        token.write_text("bench-token")
        settings = Settings(
            market_source="upstox",
            market_instruments=",".join(keys),
            upstox_base_url=fake.url,
            upstox_access_token_file=token,
            upstox_bar_grace=1.0,
        )
        source = upstox_source(settings, calendar=calendar)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instruments", type=int, default=500)
    parser.add_argument("--minutes", type=int, default=10)
    parser.add_argument("--per-frame", type=int, default=100, help="instrument updates per frame")
    parser.add_argument("--frames-per-minute", type=int, default=200)
    args = parser.parse_args()
    keys = [f"NSE_EQ|SIM{i:05d}" for i in range(args.instruments)]
    calendar = NseCalendar()
    encoded = frames(keys, args.minutes, args.per_frame, args.frames_per_minute)
    ticks = (len(encoded) - 1) * args.per_frame
    elapsed, bar_sets = in_process(keys, encoded, calendar)
    verdict = "ok" if ticks / elapsed >= TARGET_TICKS else "BELOW TARGET"
    print(
        f"in process:    {ticks:,} ticks, {bar_sets} BarSets in {elapsed:.2f} s: "
        f"{ticks / elapsed:,.0f} ticks/s ({verdict})"
    )
    elapsed = asyncio.run(over_loopback(keys, encoded, args.minutes, calendar))
    verdict = "ok" if ticks / elapsed >= TARGET_TICKS else "BELOW TARGET"
    print(f"over loopback: {ticks:,} ticks in {elapsed:.2f} s: {ticks / elapsed:,.0f} ticks/s ({verdict})")


if __name__ == "__main__":
    main()
