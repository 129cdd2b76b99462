"""The journal as CSV (OpenAlgo-style trade and order books): each row as the JSON routes give it,
every charge of the cost model by kind in a column of its own, and each time in IST and UTC."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from app.market.calendar import IST
from app.trading.costs import CostModel
from app.trading.performance import CHARGE_KINDS, split_charges

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
