"""Reading what the trading journal wrote: for recovery at start and for the REST API; and the
one write beside the journal: a broker's charges of an order, fetched after it filled
(`app.trading.broker_charges`)."""

from __future__ import annotations

from operator import itemgetter
from typing import Any

from sqlalchemy import func, select, update

from app.storage.bulk import fetch_tuples, in_batches
from app.storage.db import Database
from app.trading.brokers.base import Fill
from app.trading.brokers.paper import NAME as PAPER
from app.trading.brokers.paper import PaperState
from app.trading.enums import OrderStatus, Purpose, Side, TradeStatus
from app.trading.orders import Order
from app.trading.strategy import ist_day
from app.trading.tables import EngineRow, OrderRow, PaperAccountRow, PaperPositionRow, TradeRow
from app.trading.trades import Trade

TRADE_COLUMNS = [c.name for c in TradeRow.__table__.columns]
ORDER_COLUMNS = [c.name for c in OrderRow.__table__.columns]


class TradeStore:
    def __init__(self, db: Database) -> None:
        self.db = db

    async def engine_row(self) -> dict[str, Any] | None:
        async with self.db.session() as s:
            row = await s.get(EngineRow, 1)
            if row is None:
                return None
            return {
                "state": row.state,
                "broker": row.broker,
                "safe_mode": row.safe_mode,
                "halted_reason": row.halted_reason,
                "limits": dict(row.limits or {}),
            }

    async def open_trades(self) -> list[Trade]:
        return await self.trades(status=TradeStatus.OPEN, limit=None, oldest_first=True)

    async def trades(
        self,
        *,
        status: TradeStatus | None = None,
        instrument_key: str | None = None,
        limit: int | None = 500,
        oldest_first: bool = False,
        since: int | None = None,
        until: int | None = None,
    ) -> list[Trade]:
        """Trades, newest first (or oldest), entered at `since` <= entry_ts < `until` (either optional)."""
        query = select(*[getattr(TradeRow, c) for c in TRADE_COLUMNS])
        if since is not None:
            query = query.where(TradeRow.entry_ts >= since)
        if until is not None:
            query = query.where(TradeRow.entry_ts < until)
        if status is not None:
            query = query.where(TradeRow.status == status.value)
        if instrument_key is not None:
            query = query.where(TradeRow.instrument_key == instrument_key)
        query = query.order_by(TradeRow.trade_id if oldest_first else TradeRow.trade_id.desc())
        if limit is not None:
            query = query.limit(limit)
        async with self.db.session() as s:
            rows = (await s.execute(query)).all()
        return [Trade.from_row(dict(zip(TRADE_COLUMNS, row, strict=True))) for row in rows]

    async def closed_between(self, start_ts: int, end_ts: int) -> list[Trade]:
        """Trades closed at or after `start_ts` and before `end_ts`, oldest first."""
        query = (
            select(*[getattr(TradeRow, c) for c in TRADE_COLUMNS])
            .where(TradeRow.status == TradeStatus.CLOSED.value, TradeRow.exit_ts >= start_ts, TradeRow.exit_ts < end_ts)
            .order_by(TradeRow.trade_id)
        )
        async with self.db.session() as s:
            rows = (await s.execute(query)).all()
        return [Trade.from_row(dict(zip(TRADE_COLUMNS, row, strict=True))) for row in rows]

    async def realized_by_day(self, since_ts: int) -> dict[str, float]:
        """Net PnL of trades closed since `since_ts`, per IST day of their exit."""
        query = select(TradeRow.exit_ts, TradeRow.pnl).where(TradeRow.status == "closed", TradeRow.exit_ts >= since_ts)
        out: dict[str, float] = {}
        async with self.db.session() as s:
            for exit_ts, pnl in (await s.execute(query)).all():
                assert exit_ts is not None  # exit_ts >= since_ts excludes NULL
                day = ist_day(exit_ts)
                out[day] = out.get(day, 0.0) + float(pnl or 0.0)
        return out

    async def next_ids(self) -> tuple[int, int]:
        """The next trade id and order id: one past the largest ever stored."""
        async with self.db.session() as s:
            trade = (await s.execute(select(func.max(TradeRow.trade_id)))).scalar_one_or_none()
            order = (await s.execute(select(func.max(OrderRow.order_id)))).scalar_one_or_none()
        return (trade or 0) + 1, (order or 0) + 1

    async def orders(
        self,
        *,
        trade_id: int | None = None,
        trade_ids: list[int] | None = None,
        limit: int | None = 500,
        since: int | None = None,
        until: int | None = None,
    ) -> list[dict[str, Any]]:
        """Orders, newest first: of one trade, of some trades, or decided at `since` <= ts < `until`.
        (Plain rows, not ORM objects: the performance of a year's record reads ~100,000.)"""
        query = select(*(OrderRow.__table__.c[name] for name in ORDER_COLUMNS)).order_by(OrderRow.order_id.desc())
        if trade_id is not None:
            query = query.where(OrderRow.trade_id == trade_id)
        if since is not None:
            query = query.where(OrderRow.ts >= since)
        if until is not None:
            query = query.where(OrderRow.ts < until)
        async with self.db.session() as s:
            if trade_ids is None:
                rows = await fetch_tuples(s, query if limit is None else query.limit(limit))
            else:  # in parts, newest first again (IN_BATCH)
                parts = [
                    await fetch_tuples(s, query.where(OrderRow.trade_id.in_(ids))) for ids in in_batches(trade_ids)
                ]
                rows = sorted((row for part in parts for row in part), key=itemgetter(0), reverse=True)[:limit]
        return [dict(zip(ORDER_COLUMNS, row, strict=True)) for row in rows]

    async def working_stops(self, venue: str) -> list[Order]:
        """The stop orders held at `venue` that the journal says still work (`app.trading.broker_stops`)."""
        query = select(OrderRow).where(
            OrderRow.venue == venue,
            OrderRow.purpose == Purpose.STOP.value,
            OrderRow.status == OrderStatus.SUBMITTED.value,
            OrderRow.broker_order_id.is_not(None),
        )
        columns = [c.name for c in OrderRow.__table__.columns]
        async with self.db.session() as s:
            rows = (await s.execute(query)).scalars().all()
        return [Order.from_row({c: getattr(r, c) for c in columns}) for r in rows]

    async def set_broker_charges(self, order_id: int, charges: float) -> bool:
        """Store the broker's charges of order `order_id`; False when no such order is stored.
        The journal never writes this column, so its upserts of the order keep it."""
        query = update(OrderRow).where(OrderRow.order_id == order_id).values(broker_charges=charges)
        async with self.db.session() as s:
            matched = (await s.execute(query)).rowcount  # type: ignore[attr-defined]
        return bool(matched)

    async def fills_without_broker_charges(self, venue: str, limit: int) -> list[Fill]:
        """The latest `limit` orders of `venue` that filled shares and have no broker figure yet
        (a fetch that failed, or was due when the process stopped), oldest first."""
        query = (
            select(OrderRow)
            .where(
                OrderRow.venue == venue,
                OrderRow.filled_qty > 0,
                OrderRow.fill_price.is_not(None),
                OrderRow.broker_charges.is_(None),
            )
            .order_by(OrderRow.order_id.desc())
            .limit(limit)
        )
        async with self.db.session() as s:
            rows = (await s.execute(query)).scalars().all()
        return [
            Fill(r.order_id, r.instrument_key, Side(r.side), int(r.filled_qty), float(r.fill_price or 0.0))
            for r in reversed(rows)
        ]

    async def broker_charges(self, trade_ids: list[int]) -> dict[int, float | None]:
        """The broker's charges of each trade: the sum over its orders that filled shares, None
        while any of them has no figure (a paper trade, a fetch that failed or is still due)."""
        query = select(OrderRow.trade_id, OrderRow.broker_charges).where(OrderRow.filled_qty > 0)
        out: dict[int, float | None] = {}
        async with self.db.session() as s:
            for ids in in_batches(trade_ids):
                for trade_id, charges in (await s.execute(query.where(OrderRow.trade_id.in_(ids)))).all():
                    assert trade_id is not None  # trade_id IN (...) excludes NULL
                    before = out.get(trade_id, 0.0)
                    out[trade_id] = None if before is None or charges is None else before + charges
        return out

    async def paper_state(self) -> PaperState | None:
        async with self.db.session() as s:
            account = await s.get(PaperAccountRow, PAPER)
            if account is None:
                return None
            positions = (await s.execute(select(PaperPositionRow).where(PaperPositionRow.qty != 0))).scalars().all()
        return PaperState(
            capital=account.capital,
            realized=account.realized,
            charges=account.charges,
            next_order=account.next_order,
            positions={p.instrument_key: (p.qty, p.avg_price) for p in positions},
        )
