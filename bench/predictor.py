"""Predictor benchmarks: backtest throughput and live cycle latency.

- backtest: N instruments x one year of 1-minute bars from the simulated market, through
  predict + resolve + calibrate with the learned (ridge) model, on the same PredictorCore as
  live. Reports bars/s (bars = instrument-bars with a close).
- live cycle: N instruments through the real PredictorService, durable bus (SQLite, fsync
  on) and prediction store; time from handing a BarSet to the feed until the last of its
  `prediction.created` events has been published (stored, committed, fanned out).

Run: `python -m bench.predictor [--instruments 100] [--days 250] [--live-instruments 500]`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import itertools
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import numpy as np

from app.bus.events import Batch
from app.bus.local import LocalEventBus
from app.bus.sqlite_log import SqliteEventLog
from app.bus.subscription import ResumeOutcome
from app.events import ContractValidator
from app.market.bars import BarSet
from app.market.calendar import NseCalendar
from app.market.clock import ManualClock, last_session_open
from app.market.feed import MarketFeed
from app.market.intervals import CANONICAL, Interval
from app.market.simulated import SimulatedMarket, universe
from app.predictor.backtest import Aligned, run_backtest
from app.predictor.config import PredictorConfig
from app.predictor.service import PredictorService
from app.predictor.store import PredictionStore
from app.storage.db import Database
from app.storage.migrate import upgrade_async

MINUTE = CANONICAL["1m"]
BARS_PER_SESSION = 375


def simulated_bars(instruments: int, count: int, seed: int = 1) -> list[BarSet]:
    calendar = NseCalendar()
    start = last_session_open(calendar, time.time() - 400 * 86400)
    market = SimulatedMarket(ManualClock(start), instruments=universe(instruments), seed=seed, calendar=calendar)
    return list(itertools.islice(market.bars_from(start), count))


def simulated_sessions(instruments: int, days: int) -> Aligned:
    """`days` sessions of 1-minute bars of the simulated market, aligned as stored candles load."""
    bars = simulated_bars(instruments, days * BARS_PER_SESSION)
    return Aligned(
        bars[0].instruments,
        np.array([b.open_ts for b in bars]),
        np.array([b.close_ts for b in bars]),
        {name: np.stack([getattr(b, name) for b in bars]) for name in ("open", "high", "low", "close", "volume")},
    )


def backtest_throughput(instruments: int, days: int) -> dict[str, Any]:
    data = simulated_sessions(instruments, days)
    report = run_backtest(data, MINUTE, horizons=(1, 5), models=("ridge",))
    return {
        "instruments": instruments,
        "anchors": report.anchors,
        "bars": report.bars,
        "seconds": round(report.seconds, 2),
        "bars_per_second": round(report.bars_per_second),
        "target_bars_per_second": 500_000,
    }


class QueueSource:
    """A BarSource fed by hand: the benchmark decides when each bar closes."""

    def __init__(self, instruments: tuple[str, ...], interval: Interval) -> None:
        self.instruments = instruments
        self.interval = interval
        self.queue: asyncio.Queue[BarSet] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[BarSet]:
        while True:
            yield await self.queue.get()


class CreatedWatch:
    """A bus subscriber that notes when the expected number of prediction.created has arrived."""

    def __init__(self) -> None:
        self.expected = 0
        self.seen = 0
        self.done = asyncio.Event()

    def ready(self, outcome: ResumeOutcome) -> None:
        pass

    def deliver(self, batch: Batch) -> None:
        self.seen += sum(e.type == "prediction.created" for e in batch.events)
        if self.expected and self.seen >= self.expected:
            self.done.set()

    async def drained(self) -> bool:
        return True

    def lost(self) -> None:
        raise RuntimeError("the benchmark's event log was replaced")

    def expect(self, count: int) -> None:
        self.expected, self.seen = count, 0
        self.done.clear()


async def live_cycle(instruments: int, cycles: int, warmup: int = 10) -> dict[str, Any]:
    bars = simulated_bars(instruments, cycles + warmup)
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'db.sqlite3'}"
        await upgrade_async(url)
        db = Database(url)
        bus = LocalEventBus(SqliteEventLog(Path(tmp) / "events.sqlite3", synchronous="full"), ContractValidator())
        await bus.start()
        source = QueueSource(bars[0].instruments, MINUTE)
        feed = MarketFeed()
        feed.start(source)
        service = PredictorService(bus=bus, store=PredictionStore(db), feed=feed, calendar=NseCalendar())
        watch = CreatedWatch()
        await bus.subscribe("prediction", watch)
        cfg = PredictorConfig(horizons=[1, 5], model_kind="ridge")
        await service.start(list(source.instruments), cfg)
        gc.freeze()  # as the server does after start-up: long-lived objects out of the collector's scans
        latencies: list[float] = []
        try:
            for k, bar_set in enumerate(bars):
                made_before = service.status.cycles
                watch.expect(instruments * len(cfg.horizons) if k >= cfg.min_history else 0)
                started = time.perf_counter()
                source.queue.put_nowait(bar_set)
                if k >= cfg.min_history:
                    await asyncio.wait_for(watch.done.wait(), 30)
                    elapsed = time.perf_counter() - started
                    if k >= warmup:
                        latencies.append(elapsed * 1000)
                while service.status.cycles == made_before:  # noqa: ASYNC110 (no event for it): let the cycle finish before the next bar
                    await asyncio.sleep(0.001)
        finally:
            await service.close()
            await feed.close()
            await bus.close()
            await db.close()
    ms = np.array(latencies)
    return {
        "instruments": instruments,
        "cycles": len(ms),
        "p50_ms": round(float(np.percentile(ms, 50)), 1),
        "p99_ms": round(float(np.percentile(ms, 99)), 1),
        "max_ms": round(float(ms.max()), 1),
        "target_p99_ms": 100,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--instruments", type=int, default=100, help="backtest instruments")
    parser.add_argument("--days", type=int, default=250, help="backtest sessions of 1-minute bars")
    parser.add_argument("--live-instruments", type=int, default=500)
    parser.add_argument("--cycles", type=int, default=200)
    args = parser.parse_args()
    print("backtest:", backtest_throughput(args.instruments, args.days))
    print("live cycle:", asyncio.run(live_cycle(args.live_instruments, args.cycles)))


if __name__ == "__main__":
    main()
