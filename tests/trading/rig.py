"""A trading service wired like a server's (durable bus, migrated database, journal, market feed)
but fed by hand: bars through a QueueSource (or the source a test gives, such as Upstox's feed
from the fake Upstox), predictions published on the real bus."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from sqlalchemy.engine import make_url

from app.bus.events import Batch
from app.bus.local import LocalEventBus
from app.bus.sqlite_log import SqliteEventLog
from app.bus.subscription import ResumeOutcome
from app.core.config import Settings
from app.events import CONTRACT, ContractValidator
from app.market.feed import BarSource, MarketFeed
from app.market.upstox.access_token import AccessToken
from app.storage.db import Database
from app.storage.migrate import upgrade_async
from app.storage.urls import asyncpg_connect_args
from app.trading.brokers.upstox import HttpTransport, UpstoxTransport
from app.trading.service import TradingService
from app.trading.system import build_trading
from bench.predictor import QueueSource
from tests.market.upstox.fake import FakeUpstox
from tests.support.waits import polled
from tests.trading.stubs import DAY_OPEN, KEYS, MINUTE, bar_set, prediction, resolution

RIG_TOKEN = "rig-token"
RIG_SETTINGS: dict[str, Any] = {
    "market_source": "off",
    "hft_slippage_bps": 0.0,
    "hft_trail_vol": 0.0,
    "hft_max_daily_loss": 50_000.0,
    "hft_max_notional_per_trade": 500_000.0,
    "hft_max_notional_total": 2_000_000.0,
    "hft_max_open_trades": 10,
    "hft_skill_gate": False,  # the engine's mechanics on injected predictions (the gate: test_skill_gate.py)
}


def stored_engine_row(db_url: str) -> dict[str, Any] | None:
    """The `hft_engine` row as committed right now. A blocking read: called from a subscriber's
    `deliver`, the event loop (the engine with it) waits for the answer, so the row is the one
    committed when the event was published."""
    url = make_url(db_url)
    query = "SELECT state, halted_reason FROM hft_engine WHERE id = 1"
    if url.get_backend_name() == "sqlite":
        with contextlib.closing(sqlite3.connect(str(url.database))) as conn:
            row = conn.execute(query).fetchone()
    else:

        async def read() -> Any:
            conn = await asyncpg.connect(**asyncpg_connect_args(db_url))
            try:
                return await conn.fetchrow(query)
            finally:
                await conn.close()

        with ThreadPoolExecutor(1) as pool:
            row = pool.submit(asyncio.run, read()).result(timeout=10)
    return None if row is None else {"state": row[0], "halted_reason": row[1]}


class HftWatch:
    """A Subscriber on `hft` that keeps every event and wakes waiters; checks the contract exactly.
    With `read_state`, each `hft.state` is kept with the engine row stored when it arrived."""

    def __init__(self, read_state: Callable[[], dict[str, Any] | None] | None = None) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.batches: list[list[str]] = []  # the types of each delivery (one publish: one batch)
        self.states: list[tuple[dict[str, Any], dict[str, Any] | None]] = []
        self._read_state = read_state
        self._changed = asyncio.Event()

    def ready(self, outcome: ResumeOutcome) -> None:
        pass

    def deliver(self, batch: Batch) -> None:
        self.batches.append([e.type for e in batch.events])
        for e in batch.events:
            payload = orjson.loads(e.data)["payload"]
            assert CONTRACT["hft"][e.type].model_validate(payload).model_dump(mode="json") == payload
            self.events.append((e.type, payload))
            if e.type == "hft.state" and self._read_state is not None:
                self.states.append((payload, self._read_state()))
        self._changed.set()

    async def drained(self) -> bool:
        return True

    def lost(self) -> None:
        raise AssertionError("the event log was replaced")

    def of(self, type: str) -> list[dict[str, Any]]:
        return [p for t, p in self.events if t == type]

    async def wait(self, until: Callable[[], bool], timeout: float = 10.0) -> None:
        async def run() -> None:
            while not until():
                self._changed.clear()
                await self._changed.wait()

        await asyncio.wait_for(run(), timeout)


@dataclass
class Rig:
    settings: Settings
    db: Database
    bus: LocalEventBus
    feed: MarketFeed
    source: BarSource
    service: TradingService
    watch: HftWatch
    upstox: FakeUpstox | None  # the fake Upstox the rig started for its live broker (None: one was given)
    now: int = DAY_OPEN

    async def bar(self, bars: dict[str, Any], timeout: float = 10.0) -> None:
        """Close one bar (the next minute) and wait until the engine has dealt with it."""
        assert isinstance(self.source, QueueSource), "bars by hand need the QueueSource"
        open_ts = self.now
        self.now += 60
        self.source.queue.put_nowait(bar_set(open_ts, bars))
        await self.settled(open_ts, timeout)

    async def settled(self, open_ts: int, timeout: float = 10.0) -> None:
        """Wait until the engine has dealt with the bar opening at `open_ts`."""

        def done() -> bool:
            engine = self.service.engine
            return engine is not None and engine.last_bar == (open_ts, open_ts + 60) and not engine.busy

        await polled(done, timeout, every=0.001)

    async def warm(self, prices: dict[str, float], bars: int = 6) -> None:
        for k in range(bars):
            await self.bar({key: p * (1.001 if k % 2 else 1.0) for key, p in prices.items()})

    async def predict(self, key: str, adj: float, *, h: int = 5, id: int = 1) -> None:
        """`prediction.created` (after a resolution that makes its calibration good) on the bus."""
        await self.bus.publish("prediction", "prediction.resolved", resolution(key, h=h))
        await self.bus.publish("prediction", "prediction.created", prediction(key, adj, ts_pred=self.now, h=h, id=id))

    @property
    def fake(self) -> FakeUpstox:
        assert self.upstox is not None, "this rig's broker talks to a fake it was given"
        return self.upstox

    async def close(self) -> None:
        await self.service.close()
        await self.feed.close()
        await self.bus.close()
        await self.db.close()
        if self.upstox is not None:
            await self.upstox.stop()


async def make_rig(
    data_dir: Path, *, source: BarSource | None = None, upstox: UpstoxTransport | None = None, **overrides: Any
) -> Rig:
    """A rig on `data_dir` (make a second one on the same dir to restart); the feed runs
    `source` (default: a QueueSource of KEYS, 1m bars by hand); the upstox broker talks to
    `upstox` (default: a fake Upstox on loopback the rig starts, `rig.fake`)."""
    settings = Settings(data_dir=data_dir, **{**RIG_SETTINGS, **overrides})
    data_dir.mkdir(parents=True, exist_ok=True)
    await upgrade_async(settings.db_url)
    db = Database(settings.db_url)
    bus = LocalEventBus(SqliteEventLog(settings.event_log_path, synchronous="normal"), ContractValidator())
    await bus.start()
    watch = HftWatch(lambda: stored_engine_row(settings.db_url))
    await bus.subscribe("hft", watch)
    feed = MarketFeed()
    source = source or QueueSource(KEYS, MINUTE)
    feed.start(source)
    fake = None
    if upstox is None:
        fake = await FakeUpstox(tokens=[RIG_TOKEN]).start()
        upstox = upstox_transport(fake, RIG_TOKEN)
    service = build_trading(settings, db=db, bus=bus, feed=feed, upstox_transport=upstox)
    return Rig(settings, db, bus, feed, source, service, watch, fake)


def upstox_transport(fake: FakeUpstox, token: str) -> HttpTransport:
    """The live broker's transport to the fake on loopback (account calls and orders on its second port)."""
    return HttpTransport(fake.account_url, fake.order_url, AccessToken(value=token, path=None))


async def upstox_rig(data_dir: Path, fake: FakeUpstox, token: str, **overrides: Any) -> Rig:
    """A rig whose run trades on Upstox (the fake on loopback) with both keys turned, started."""
    upstox = upstox_transport(fake, token)
    rig = await make_rig(data_dir, upstox=upstox, live_trading_enabled=True, **overrides)
    await rig.service.start("upstox", safe_mode=False)
    return rig
