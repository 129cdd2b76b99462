"""Trading benchmark: price update -> decision -> paper fill -> `hft.entry` published.

In process, wired as a server wires it: the durable bus (SQLite; `--bus-synchronous full`, the
server's default, fsyncs every commit), the migrated relational store and the trading journal,
the market feed, the trading service on the paper broker. Per sample: a calibrated one-bar
`prediction.created` for one instrument is published on the bus (not timed); then a BarSet is
handed to the feed, and the time runs until a bus subscriber on `hft` is handed the `hft.entry`
of the trade it opened: the feed's hand-off, the engine's risk gate, sizing, the paper fill, the
journal commit (order, trade and paper ledger in one transaction), the bus's commit and
fan-out. The trade leaves at that bar's close (time exit), so the book stays small, as live.
Samples are paced at the engine's own limit of 10 orders a second (an entry and an exit each).

With `--bus-synchronous full` every bus commit waits for an fsync, so the disk sets a floor: in
each pause between samples the benchmark also times one 4 KiB write + `fdatasync` of a file in
the same directory (`disk_fdatasync_ms`), under the same idle-then-busy pattern as the commits.

The relational store (and so the journal) is a fresh SQLite file unless `--database-url` names a
PostgreSQL database (postgresql+asyncpg://...): an empty one, which the run migrates and writes
its trades into (PostgresJournal).

With `--backtest`, instead: the trade backtest's throughput (`signaldesk backtest --trade`):
`--backtest-instruments` (5) x `--backtest-days` (250: a year) sessions of the simulated market's
1-minute bars, the live predictor core (ridge) and the live engine on paper with the default
strategy, limits and costs. The trade phase (the engine and the driver handing it bars and
predictions) is timed apart from the predictor's (predict, resolve, calibrate and build the
events): bars/s = instrument-bars with a close / the trade phase's seconds. The skill gate's
cost is its work clocked in the same run (bench/skill_cost.py).

Each run starts with the machine's state (bench/machine.py): compare figures only beside it.

Run: `python -m bench.trading [--samples 200] [--bus-synchronous full|normal] [--database-url URL]`
or `python -m bench.trading --backtest [--backtest-instruments 5] [--backtest-days 250]`.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import os
import tempfile
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import orjson

from app.bus.events import Batch
from app.bus.local import LocalEventBus
from app.bus.sqlite_log import SqliteEventLog
from app.bus.subscription import ResumeOutcome
from app.core import heap
from app.core.config import Settings
from app.events import ContractValidator
from app.market.bars import BarSet
from app.market.calendar import NseCalendar
from app.market.clock import ManualClock, last_session_open
from app.market.feed import BarSource, MarketFeed
from app.market.intervals import CANONICAL
from app.market.simulated import SimulatedMarket, universe
from app.predictor.skill import critical_array
from app.storage.db import Database
from app.storage.migrate import upgrade_async
from app.storage.urls import shown
from app.trading.backtest import run_trade_backtest
from app.trading.brokers.paper import PaperConfig
from app.trading.costs import CostModel
from app.trading.risk import RiskLimits
from app.trading.service import TradingService
from app.trading.store import TradeStore
from app.trading.strategy import StrategyConfig
from app.trading.system import build_trading
from bench import machine, skill_cost
from bench.predictor import QueueSource, simulated_sessions

MINUTE = CANONICAL["1m"]
WARMUP_BARS = 6


class Stamps:
    """When the engine took the bar, and when it handed its hft.entry to the bus (perf_counter)."""

    def __init__(self) -> None:
        self.took = 0.0
        self.published = 0.0


def instrument(engine: Any, stamps: Stamps) -> None:
    """Note the moments of the breakdown: when the engine takes the bar (it takes its lock first
    thing; its methods cannot be wrapped on the instance, compiled: app.trading.native), and when
    its outbox hands the hft.entry to the bus (the outbox's sink, wrapped)."""
    bus = engine.outbox.sink

    class StampedLock(asyncio.Lock):
        async def __aenter__(self) -> None:
            stamps.took = time.perf_counter()
            await super().__aenter__()

    class Sink:
        async def publish_many(self, channel: str, events: Any) -> Any:
            if any(type == "hft.entry" for type, _ in events):
                stamps.published = time.perf_counter()
            return await bus.publish_many(channel, events)

    engine._lock = StampedLock()
    engine.outbox.sink = Sink()


class EntryWatch:
    """A bus subscriber on `hft` that notes the moment each hft.entry is handed to it."""

    def __init__(self) -> None:
        self.arrived: dict[str, float] = {}
        self.event = asyncio.Event()

    def ready(self, outcome: ResumeOutcome) -> None:
        pass

    def deliver(self, batch: Batch) -> None:
        now = time.perf_counter()
        for e in batch.events:
            if e.type == "hft.entry":
                self.arrived[orjson.loads(e.data)["payload"]["instrument_key"]] = now
                self.event.set()

    async def drained(self) -> bool:
        return True

    def lost(self) -> None:
        raise RuntimeError("the benchmark's event log was replaced")


def session_bars(instruments: int, count: int) -> list[BarSet]:
    calendar = NseCalendar()
    start = last_session_open(calendar, time.time() - 30 * 86400)
    market = SimulatedMarket(ManualClock(start), instruments=universe(instruments), seed=5, calendar=calendar)
    return list(itertools.islice(market.bars_from(start), count))


@dataclass
class Wired:
    """A trading service wired as a server wires it, around a market feed running `source`."""

    db: Database
    bus: LocalEventBus
    feed: MarketFeed
    service: TradingService


def desk_settings(data_dir: Path, synchronous: str, database_url: str | None, **overrides: Any) -> Settings:
    """Limits out of the way (no cooldown, room for every trade); the strategy's as `overrides` say."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "market_source": "off",
        "bus_synchronous": synchronous,
        "hft_max_open_trades": 10_000,
        "hft_max_notional_total": 1e12,
        "hft_max_notional_per_trade": 1e9,
        "hft_max_daily_loss": 1e12,
        "hft_cooldown": 0,
        "hft_capital": 1e12,
        "database_url": database_url,
        **overrides,
    }
    return Settings(**values)


@asynccontextmanager
async def wired(settings: Settings, source: BarSource, *watchers: Any) -> AsyncIterator[Wired]:
    """The migrated store (which must hold no trades), the durable bus with `watchers` on `hft`,
    the feed running `source` and the trading service (not started); all closed after."""
    await upgrade_async(settings.db_url)
    db = Database(settings.db_url)
    if await TradeStore(db).next_ids() != (1, 1):
        await db.close()
        raise SystemExit(f"{shown(settings.db_url)} holds trades already: give the benchmark an empty database")
    bus = LocalEventBus(
        SqliteEventLog(settings.event_log_path, synchronous=settings.bus_synchronous), ContractValidator()
    )
    await bus.start()
    for watcher in watchers:
        await bus.subscribe("hft", watcher)
    feed = MarketFeed()
    feed.start(source)
    service = build_trading(settings, db=db, bus=bus, feed=feed)
    try:
        yield Wired(db, bus, feed, service)
    finally:
        await service.close()
        await feed.close()
        await bus.close()
        await db.close()


async def entry_latency(
    samples: int, instruments: int, synchronous: str = "full", database_url: str | None = None
) -> dict[str, Any]:
    if samples + WARMUP_BARS > 350:
        raise ValueError("at most 344 samples: bars of one session before the 15:15 square-off")
    bars = session_bars(instruments, samples + WARMUP_BARS)
    with tempfile.TemporaryDirectory() as tmp:
        settings = desk_settings(
            Path(tmp),
            synchronous,
            database_url,
            hft_stop_vol=1000.0,
            hft_target_vol=1000.0,
            hft_trail_vol=0.0,
            hft_risk_per_trade=1e6,
        )
        watch = EntryWatch()
        source = QueueSource(bars[0].instruments, MINUTE)
        async with wired(settings, source, watch) as desk:
            bus, database = desk.bus, desk.db.engine.dialect.name
            await desk.service.start()
            engine = desk.service.engine
            assert engine is not None
            for key in bars[0].instruments:  # a record of hits the skill gate finds skilled (not timed)
                record = [
                    ("prediction.resolved", _resolution(key, j)) for j in range(settings.hft_skill_min_resolutions)
                ]
                await bus.publish_many("prediction", record)
            stamps = Stamps()
            instrument(engine, stamps)
            heap.settle()  # as the server does once started (app.main)
            latencies: list[float] = []
            parts: list[tuple[float, float, float]] = []
            disk: list[float] = []
            probe = os.open(Path(tmp) / "fdatasync-probe", os.O_WRONLY | os.O_CREAT)
            try:
                for k, bar_set in enumerate(bars):
                    if k >= WARMUP_BARS:
                        key = bar_set.instruments[(k - WARMUP_BARS) % instruments]
                        watch.arrived.pop(key, None)
                        await bus.publish("prediction", "prediction.resolved", _resolution(key, k))
                        await bus.publish("prediction", "prediction.created", _prediction(key, k, bar_set.open_ts))
                        assert key in engine.signals, engine.skipped
                    paced = time.perf_counter() + 0.2  # an entry and an exit: 10 orders a second at most
                    started = time.perf_counter()
                    source.queue.put_nowait(bar_set)
                    if k >= WARMUP_BARS:
                        await asyncio.wait_for(_arrival(watch, key), 10)
                        latencies.append((watch.arrived[key] - started) * 1000)
                        parts.append(
                            (
                                (stamps.took - started) * 1000,
                                (stamps.published - stamps.took) * 1000,
                                (watch.arrived[key] - stamps.published) * 1000,
                            )
                        )
                    while engine.last_bar != (bar_set.open_ts, bar_set.close_ts) or engine.busy:  # noqa: ASYNC110 (the engine has no event for it)
                        await asyncio.sleep(0.0005)
                    await asyncio.sleep(max(0.0, (paced + time.perf_counter()) / 2 - time.perf_counter()))
                    disk.append(_fdatasync_ms(probe))
                    await asyncio.sleep(max(0.0, paced - time.perf_counter()))
                open_at_end = len(engine.book.open)
            finally:
                os.close(probe)
    ms = np.array(latencies)
    split = np.array(parts)
    return {
        "samples": len(ms),
        "instruments": instruments,
        "bus_synchronous": synchronous,
        "database": database,
        "trades_open_at_end": open_at_end,
        "p50_ms": round(float(np.percentile(ms, 50)), 3),
        "p99_ms": round(float(np.percentile(ms, 99)), 3),
        "max_ms": round(float(ms.max()), 3),
        "target_p99_ms": 1.0,
        "p50_ms_breakdown": {
            name: round(float(np.percentile(split[:, i], 50)), 3)
            for i, name in enumerate(("feed_to_engine", "engine_and_journal", "bus_commit_and_fanout"))
        },
        "p99_ms_breakdown": {
            name: round(float(np.percentile(split[:, i], 99)), 3)
            for i, name in enumerate(("feed_to_engine", "engine_and_journal", "bus_commit_and_fanout"))
        },
        "disk_fdatasync_ms": {f"p{q}": round(float(np.percentile(disk, q)), 3) for q in (50, 99)},
    }


def _fdatasync_ms(fd: int) -> float:
    """One 4 KiB write and its fdatasync, in ms: what a bus commit waits for at `full`."""
    os.pwrite(fd, b"\0" * 4096, 0)
    started = time.perf_counter()
    os.fdatasync(fd)
    return (time.perf_counter() - started) * 1000


async def _arrival(watch: EntryWatch, key: str) -> None:
    while key not in watch.arrived:
        watch.event.clear()
        await watch.event.wait()


def _prediction(key: str, id: int, ts_pred: int) -> dict[str, Any]:
    return {
        "id": id,
        "instrument_key": key,
        "interval": "1m",
        "horizon_steps": 1,
        "ts_pred": ts_pred,
        "ts_target": ts_pred + 60,
        "pred_ret": 0.01,
        "pred_ret_adj": 0.01,
        "calib_bias": 0.0,
        "model_kind": "ridge",
    }


def _resolution(key: str, k: int) -> dict[str, Any]:
    """A hit: up on even `k`, down on odd (a hit rate of 1 against a chance rate of 1/2)."""
    move = 0.001 if k % 2 == 0 else -0.001
    return {
        "id": 0,
        "instrument_key": key,
        "interval": "1m",
        "horizon_steps": 1,
        "ts_pred": 0,
        "ts_target": 0,
        "actual_ret": move,
        "pred_ret_adj": move,
        "error": 0.0,
        "calibration": {"n": 100, "bias": 0.0, "mae": 0.001, "rmse": 0.001, "hit_rate": 0.6},
    }


EDGE_BPS = 3.0  # a market with skill to find: on a random walk the skill gate keeps the desk out


def trade_backtest_throughput(instruments: int, days: int) -> dict[str, Any]:
    """The run's figures, and the skill gate's share of them (its folds clocked: bench/skill_cost.py;
    its table of critical counts, built once per process, apart)."""
    data = simulated_sessions(instruments, days, edge_bps=EDGE_BPS)
    gate = StrategyConfig().skill
    started = time.perf_counter()
    critical_array(gate.alpha, gate.window)  # once per process (a live service builds it as it starts)
    table_seconds = time.perf_counter() - started
    with skill_cost.timed_engines() as books:
        started = time.perf_counter()
        report = asyncio.run(
            run_trade_backtest(
                data, MINUTE, strategy=StrategyConfig(), limits=RiskLimits(), costs=CostModel(), paper=PaperConfig()
            )
        )
        seconds = time.perf_counter() - started
    (book,) = books
    assert not report.stepped and book.events == 0, "the gate's per-event work is not clocked: a fast-path run only"
    return {
        "instruments": instruments,
        "sessions": report.performance.sessions,
        "edge_bps": EDGE_BPS,
        "bars": data.bars,
        "bar_sets_fed_to_the_engine": f"{report.bars_fed} of {report.bars}",
        "trades": len(report.trades),
        "skipped": report.skipped,
        "halts": len(report.halts),
        "seconds": round(seconds, 2),
        "trade_phase_seconds": round(report.trade_seconds, 2),
        "trade_bars_per_second": round(data.bars / report.trade_seconds),
        "all_bars_per_second": round(data.bars / seconds),
        "target_trade_bars_per_second": 200_000,
        "skill_gate": {
            "seconds": round(book.fold_seconds, 3),
            "critical_table_seconds_once_per_process": round(table_seconds, 3),
            "of_the_run": skill_cost.share(book.fold_seconds, seconds),
            "of_the_trade_phase": skill_cost.share(book.fold_seconds, report.trade_seconds),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument(
        "--instruments", type=int, default=50, help="the universe (bars for all; one trades per sample)"
    )
    parser.add_argument("--bus-synchronous", choices=("full", "normal"), default="full")
    parser.add_argument(
        "--database-url", help="an empty PostgreSQL database (postgresql+asyncpg://...); default: a fresh SQLite file"
    )
    parser.add_argument("--backtest", action="store_true", help="the trade backtest's throughput instead")
    parser.add_argument("--backtest-instruments", type=int, default=5)
    parser.add_argument("--backtest-days", type=int, default=250, help="sessions of 1-minute bars")
    args = parser.parse_args()
    print("machine:", machine.state())
    if args.backtest:
        print("trade backtest:", trade_backtest_throughput(args.backtest_instruments, args.backtest_days))
        return
    result = asyncio.run(entry_latency(args.samples, args.instruments, args.bus_synchronous, args.database_url))
    print("price update -> hft.entry published:", result)


if __name__ == "__main__":
    main()
