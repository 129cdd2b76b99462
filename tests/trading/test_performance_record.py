"""The live and paper record measured (GET /api/hft/performance) and exported (trades.csv,
orders.csv): the same figures as the trade backtest for the same trades and candles; the CSV
books parsed back equal the JSON routes; bad filters are refused with 422 naming the field."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
import sqlalchemy as sa
import uvicorn
from fastapi import FastAPI
from websockets.asyncio.client import connect

from app.api.deps import get_settings, get_trading, get_workers
from app.api.errors import install_error_handlers
from app.api.routes.hft import router
from app.jobs.worker import WorkerPool
from app.market.calendar import IST
from app.market.candles import TABLE as CANDLES
from app.market.candles import CandleStore
from app.predictor.skill import SkillConfig
from app.storage.db import Database
from app.trading.backtest import TradeReport, run_trade_backtest
from app.trading.brokers.paper import PaperConfig
from app.trading.costs import CostModel
from app.trading.journal import SqliteJournal
from app.trading.performance import CHARGE_KINDS
from app.trading.record import Period, TradeRecord
from app.trading.risk import RiskLimits
from app.trading.store import TradeStore
from app.trading.strategy import StrategyConfig, ist_day
from app.trading.tables import OrderRow, TradeRow
from tests.support.cli import signaldesk
from tests.support.server import ServerProcess, free_port
from tests.support.waits import polled
from tests.support.ws import answer_beside_heartbeats, recv_ready
from tests.trading.rig import Rig, make_rig
from tests.trading.test_backtest import MINUTE, aligned, simulated

_BACKTEST: list[tuple[TradeReport, Any]] = []


async def backtest() -> tuple[TradeReport, Any]:
    """A 2-day, 2-instrument trade backtest and its data (run once: the tests only read it)."""
    if not _BACKTEST:
        data = aligned(simulated(2, instruments=2, seed=5))
        report = await run_trade_backtest(
            data,
            MINUTE,
            strategy=StrategyConfig(skill=SkillConfig(gate=False)),  # trades on a random walk: the gate off
            limits=RiskLimits(),
            costs=CostModel(),
            paper=PaperConfig(),
        )
        _BACKTEST.append((report, data))
    return _BACKTEST[0]


async def store_record(rig: Rig, report: TradeReport, data: Any) -> None:
    """The backtest's trades and orders into the rig's journal tables, its candles into the candle store."""
    journal = SqliteJournal(Path(rig.settings.db_url.split("///", 1)[1]))
    for t in report.trades:
        journal.stage("hft_trades", t.row())
    for o in report.orders:
        journal.stage("hft_orders", o)
    await journal.flush()
    await journal.close()
    for i, key in enumerate(data.instruments):
        frame = pd.DataFrame(
            {"ts": data.open_ts, **{f: data.ohlcv[f][:, i] for f in ("open", "high", "low", "close", "volume")}}
        )
        await CandleStore(rig.db).upsert(key, "1m", frame)


Recorded = tuple[Rig, TradeReport, dict[str, str]]


@pytest.fixture
async def recorded(tmp_path: Path) -> AsyncIterator[Recorded]:
    """A rig whose record is a 2-day backtest's (trades, orders, candles); the backtest; its first and last date."""
    report, data = await backtest()
    rig = await make_rig(tmp_path / "data")
    await store_record(rig, report, data)
    yield rig, report, {"from": ist_day(int(data.open_ts[0])), "to": ist_day(int(data.open_ts[-1]))}
    await rig.close()


def hft_app(rig: Rig) -> FastAPI:
    """The hft routes served with the rig's trading service, settings and database."""
    app = FastAPI()
    install_error_handlers(app)
    app.include_router(router)
    app.dependency_overrides[get_settings] = lambda: rig.settings
    app.dependency_overrides[get_trading] = lambda: rig.service
    app.dependency_overrides[get_workers] = lambda: WORKERS
    return app


WORKERS = WorkerPool()  # the performance is measured in a worker process, as the server does


def client_of(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test")


async def test_the_live_path_measures_the_same_trades_as_the_backtest(recorded: Recorded) -> None:
    rig, report, days = recorded
    app = hft_app(rig)
    assert report.performance.trades > 3 and report.performance.sessions == 2
    async with client_of(app) as client:
        r = await client.get("/api/hft/performance", params=days)
        first = await client.get("/api/hft/performance", params={"from": days["from"], "to": days["from"]})
    assert r.status_code == 200, r.text
    assert r.json() == report.performance.public()  # figures, series and splits alike
    assert first.json()["trades"] == sum(1 for t in report.trades if ist_day(t.entry_ts) == days["from"])


def parsed(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def as_csv(value: object) -> str:
    return "" if value is None else str(value)


async def test_the_csv_books_carry_the_json_rows_charges_by_kind_and_ist_and_utc_times(recorded: Recorded) -> None:
    rig, report, days = recorded
    app = hft_app(rig)
    client = client_of(app)
    query = {**days, "status": "closed", "limit": 1000}
    trades = (await client.get("/api/hft/trades", params=query)).json()["trades"]
    r = await client.get("/api/hft/trades.csv", params=query)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = parsed(r.text)
    assert len(rows) == len(trades) == len(report.trades)
    for row, trade in zip(rows, trades, strict=True):
        assert {k: row[k] for k in trade} == {k: as_csv(v) for k, v in trade.items()}
        assert sum(float(row[k]) for k in CHARGE_KINDS) == pytest.approx(trade["charges"])
        assert float(row["stt"]) > 0 and float(row["stamp"]) > 0  # a round trip: one sell, one buy
        entry = datetime.fromtimestamp(trade["entry_ts"], timezone.utc)
        assert row["entry_time_utc"] == entry.strftime("%Y-%m-%d %H:%M:%S")
        assert row["entry_time_ist"] == entry.astimezone(IST).strftime("%Y-%m-%d %H:%M:%S")

    orders = (await client.get("/api/hft/orders", params={**days, "limit": 1000})).json()["orders"]
    rows = parsed((await client.get("/api/hft/orders.csv", params={**days, "limit": 1000})).text)
    assert len(rows) == len(orders) == len(report.orders)
    for row, order in zip(rows, orders, strict=True):
        assert {k: row[k] for k in order} == {k: as_csv(v) for k, v in order.items()}
        assert sum(float(row[k]) for k in CHARGE_KINDS) == pytest.approx(order["charges"])

    empty = await client.get("/api/hft/trades.csv", params={"from": "2001-01-01", "to": "2001-01-02"})
    assert parsed(empty.text) == [] and empty.text.startswith("trade_id,")  # the header, always
    await client.aclose()


async def test_the_cli_exports_the_trade_book_and_writes_a_tearsheet(recorded: Recorded, tmp_path: Path) -> None:
    """`signaldesk hft export` and `hft performance --report` against the routes on a loopback port."""
    rig, report, days = recorded
    app = hft_app(rig)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning"))
    serving = asyncio.create_task(server.serve())
    await polled(lambda: server.started, 10)
    url = f"http://127.0.0.1:{server.config.port}"
    try:
        book, sheet = tmp_path / "trades.csv", tmp_path / "sheet.html"
        span = ("--from", days["from"], "--to", days["to"], "--url", url)
        done = await asyncio.to_thread(signaldesk, "hft", "export", *span, "--out", book)
        assert done.returncode == 0, done.stderr
        async with client_of(app) as client:
            expected = (await client.get("/api/hft/trades.csv", params={**days, "limit": 100_000})).text
        assert book.read_text() == expected and len(parsed(expected)) == len(report.trades)
        shown = await asyncio.to_thread(signaldesk, "hft", "performance", *span, "--json", "--report", sheet)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout) == report.performance.public()
        html = sheet.read_text()
        assert "<svg" in html and "Sharpe (daily, 250 sessions)" in html and "By instrument" in html
    finally:
        server.should_exit = True
        await serving


BAD_FILTERS = [
    ("/api/hft/performance", {"from": "2026-13-01"}, "from"),
    ("/api/hft/performance", {"from": "2026-03-05", "to": "2026-03-04"}, "from"),
    ("/api/hft/trades.csv", {"to": "yesterday"}, "to"),
    ("/api/hft/trades.csv", {"status": "maybe"}, "status"),
    ("/api/hft/orders.csv", {"limit": "0"}, "limit"),
    ("/api/hft/trades", {"from": "2026-03-05", "to": "2026-03-01"}, "from"),
    ("/api/hft/trades", {"limit": "10001"}, "limit"),  # a JSON page: at most 10,000 (the CSV: 100,000)
    ("/api/hft/orders", {"limit": "100000"}, "limit"),
    ("/api/hft/orders.csv", {"limit": "100001"}, "limit"),
]


async def test_bad_filters_are_refused_naming_the_field(tmp_path: Path) -> None:
    rig = await make_rig(tmp_path / "data")
    try:
        async with client_of(hft_app(rig)) as client:
            for path, query, field in BAD_FILTERS:
                r = await client.get(path, params=query)
                assert r.status_code == 422, (path, query, r.text)
                assert [d["loc"] for d in r.json()["detail"]] == [["query", field]], (path, query)
    finally:
        await rig.close()


async def test_without_candles_for_the_whole_record_the_curve_steps_at_each_exit(recorded: Recorded) -> None:
    rig, report, _ = recorded
    record = TradeRecord(rig.service.store, CandleStore(rig.db), costs=CostModel(), capital=PaperConfig().capital)
    last_exit = max(t.exit_ts or 0 for t in report.trades)
    async with rig.db.engine.begin() as conn:  # the candles of the last exit's bar are not stored yet
        await conn.execute(sa.delete(CANDLES).where(CANDLES.c.ts >= last_exit))
    perf = await record.performance(Period(), MINUTE)
    assert perf.unavailable["exposure"] == "no bar marks" and perf.curve_ts[-1] == last_exit
    assert perf.equity[-1] == pytest.approx(perf.capital + report.performance.net_pnl)  # no trade dropped
    assert perf.net_pnl == report.performance.net_pnl and perf.sharpe is not None


async def test_a_record_longer_than_one_statement_binds_is_read_in_parts(database: Database) -> None:
    """A statement binds at most 32,767 values on PostgreSQL (asyncpg; SQLite here: 250,000): the
    orders and the broker's charges of more trades than that (the performance of a desk's year,
    a year's trades.csv) are asked in parts of IN_BATCH, and come back as one answer, newest first."""
    report, _ = await backtest()
    async with database.begin() as conn:
        await conn.execute(sa.insert(TradeRow), [t.row() for t in report.trades])
        await conn.execute(sa.insert(OrderRow), report.orders)
    store = TradeStore(database)
    asked = [*range(10**6, 10**6 + 40_000), *(t.trade_id for t in report.trades)]  # most not in the journal
    assert await store.orders(trade_ids=asked, limit=None) == await store.orders(limit=None)
    assert await store.orders(trade_ids=asked, limit=3) == await store.orders(limit=3)
    assert sorted(await store.broker_charges(asked)) == sorted(t.trade_id for t in report.trades)


async def test_a_year_of_trades_as_csv_leaves_the_server_streaming(server_factory) -> None:
    """Made in the server's process, the trades.csv of a year of a busy paper desk (~45,000
    trades) held its event loop ~2 s at a stretch (app.trading.export): a stream's heartbeats
    stopped meanwhile. Its rows here: the 2-day backtest's trades and orders, copied under new ids."""
    server: ServerProcess = server_factory(
        env={"SIGNALDESK_MARKET_SOURCE": "off", "SIGNALDESK_HEARTBEAT_INTERVAL": "0.2"}
    )
    server.start()
    report, _ = await backtest()
    copies = 45_000 // len(report.trades) + 1
    trades = [{**t.row(), "trade_id": t.trade_id + c * 10**6} for c in range(copies) for t in report.trades]
    orders = [
        {**o, "order_id": o["order_id"] + c * 10**6, "trade_id": o["trade_id"] + c * 10**6}
        for c in range(copies)
        for o in report.orders
    ]
    with sqlite3.connect(server.data_dir / "signaldesk.sqlite3") as db:
        for table, rows in (("hft_trades", trades), ("hft_orders", orders)):
            marks = ", ".join("?" * len(rows[0]))
            db.executemany(
                f"INSERT INTO {table} ({', '.join(rows[0])}) VALUES ({marks})", [tuple(r.values()) for r in rows]
            )
    async with connect(server.ws("hft")) as idle:
        await recv_ready(idle)
        asked, gaps = await answer_beside_heartbeats(idle, f"{server.http}/api/hft/trades.csv", limit=100_000)
    assert len(gaps) >= 2 and max(gaps) < 0.2 * 4, gaps
    assert asked.status_code == 200 and len(parsed(asked.text)) == len(trades)
