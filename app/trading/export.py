"""The journal as CSV (OpenAlgo-style trade and order books): each row as the JSON routes give it,
every charge of the cost model by kind in a column of its own, and each time in IST and UTC.

`GET /api/hft/trades.csv` and `orders.csv` are made in a worker process (`trades_csv_in_worker`,
`orders_csv_in_worker`, preloaded into the job workers' forkserver; app.api.worker_answers): the
dashboard and `signaldesk hft export` ask for up to 100,000 rows: a year of a busy paper desk
took 4.4 s (trades) and 2.4 s (orders) to read and format, ~2 s of it at a stretch on the
server's event loop when done there (docs/performance.md).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from app.market.calendar import IST
from app.storage.db import Database, with_database
from app.trading.costs import CostModel
from app.trading.enums import TradeStatus
from app.trading.performance import CHARGE_KINDS, split_charges
from app.trading.record import Period
from app.trading.store import TradeStore

TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


def times(name: str, ts: int | None) -> dict[str, str]:
    """`<name>_ist` and `<name>_utc` of epoch seconds `ts` ('' when None)."""
    if ts is None:
        return {f"{name}_ist": "", f"{name}_utc": ""}
    return {
        f"{name}_ist": datetime.fromtimestamp(ts, IST).strftime(TIME_FORMAT),
        f"{name}_utc": datetime.fromtimestamp(ts, timezone.utc).strftime(TIME_FORMAT),
    }


def charges_by_kind(orders: Iterable[Mapping[str, Any]], costs: CostModel) -> dict[int, dict[str, float]]:
    """Per trade id: the cost model's charges of its orders' fills, by kind."""
    out: dict[int, dict[str, float]] = {}
    for order in orders:
        split = split_charges(order, costs)
        if split is None or order["trade_id"] is None:
            continue
        kinds = out.setdefault(int(order["trade_id"]), dict.fromkeys(CHARGE_KINDS, 0.0))
        for kind in CHARGE_KINDS:
            kinds[kind] += getattr(split, kind)
    return out


def trades_csv(
    trades: Sequence[Mapping[str, Any]], charges: Mapping[int, Mapping[str, float]], *, fields: list[str]
) -> str:
    """The trades (GET /api/hft/trades rows), with entry and exit times and charges by kind."""
    none = dict.fromkeys(CHARGE_KINDS, 0.0)
    rows = [
        {
            **t,
            **times("entry_time", t["entry_ts"]),
            **times("exit_time", t["exit_ts"]),
            **charges.get(t["trade_id"], none),
        }
        for t in trades
    ]
    return _csv(rows, [*fields, *times("entry_time", None), *times("exit_time", None), *CHARGE_KINDS])


def orders_csv(orders: Sequence[Mapping[str, Any]], costs: CostModel, *, fields: list[str]) -> str:
    """The orders (GET /api/hft/orders rows), with their time and their fill's charges by kind."""
    rows = []
    for o in orders:
        split = split_charges(o, costs)
        kinds = {k: 0.0 if split is None else getattr(split, k) for k in CHARGE_KINDS}
        rows.append({**o, **times("time", o["ts"]), **kinds})
    return _csv(rows, [*fields, *times("time", None), *CHARGE_KINDS])


def _csv(rows: list[dict[str, Any]], fields: list[str]) -> str:
    """A header of `fields`, then each row's values of them (null: empty)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(fields)
    writer.writerows(["" if row.get(f) is None else row[f] for f in fields] for row in rows)
    return buffer.getvalue()


async def trade_rows(
    store: TradeStore,
    status: TradeStatus | None,
    instrument_key: str | None,
    limit: int,
    since: int | None,
    until: int | None,
) -> list[dict[str, Any]]:
    """The trades of `GET /api/hft/trades` (entered at since <= entry_ts < until, newest first),
    each with the broker's charges."""
    trades = await store.trades(status=status, instrument_key=instrument_key, limit=limit, since=since, until=until)
    broker = await store.broker_charges([t.trade_id for t in trades])
    return [{**t.public(), "broker_charges": broker.get(t.trade_id)} for t in trades]


def trades_csv_in_worker(
    url: str,
    status: TradeStatus | None,
    instrument_key: str | None,
    limit: int,
    period: Period,
    costs: CostModel,
    fields: list[str],
    reporter: object,
) -> str:
    """`trades_csv` of the `trade_rows` asked, from the database at `url` (in a worker process)."""

    async def made(db: Database) -> str:
        store = TradeStore(db)
        rows = await trade_rows(store, status, instrument_key, limit, period.since, period.until)
        orders = await store.orders(trade_ids=[r["trade_id"] for r in rows], limit=None)
        return trades_csv(rows, charges_by_kind(orders, costs), fields=fields)

    return with_database(url, made)


def orders_csv_in_worker(
    url: str,
    trade_id: int | None,
    limit: int,
    period: Period,
    costs: CostModel,
    fields: list[str],
    reporter: object,
) -> str:
    """`orders_csv` of the orders of `GET /api/hft/orders` asked, from the database at `url` (in a worker process)."""

    async def made(db: Database) -> str:
        orders = await TradeStore(db).orders(trade_id=trade_id, limit=limit, since=period.since, until=period.until)
        return orders_csv(orders, costs, fields=fields)

    return with_database(url, made)
