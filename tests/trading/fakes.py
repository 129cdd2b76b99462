"""Test doubles at the edges only: a hand-fed bar source, and Upstox's network."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

from app.market.bars import BarSet
from app.market.intervals import Interval
from app.trading.errors import BrokerError


class QueueSource:
    """A BarSource fed by hand: the test decides when each bar closes."""

    def __init__(self, instruments: tuple[str, ...], interval: Interval) -> None:
        self.instruments = instruments
        self.interval = interval
        self.queue: asyncio.Queue[BarSet] = asyncio.Queue()

    async def __aiter__(self) -> AsyncIterator[BarSet]:
        while True:
            yield await self.queue.get()


class UpstoxNetwork:
    """Stands in for Upstox's servers (the network only): records every request, fills every
    market order at `price`, and keeps positions like an exchange account would."""

    def __init__(self, price: float = 100.0) -> None:
        self.price = price
        self.requests: list[tuple[str, str, dict[str, Any] | None, dict[str, Any] | None]] = []
        self.positions: dict[str, int] = {}
        self._orders: dict[str, dict[str, Any]] = {}
        self._ids = itertools.count(1)
        self.fail: str | None = None

    @property
    def orders(self) -> list[dict[str, Any]]:
        """Every order placed (the request bodies of POST /v3/order/place)."""
        return [body for method, path, _, body in self.requests if path == "/v3/order/place" and body is not None]

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        host: str = "api",
    ) -> dict[str, Any]:
        self.requests.append((method, path, params, json))
        if self.fail is not None:
            raise BrokerError("upstox", self.fail)
        if path == "/v2/user/profile":
            return {"status": "success", "data": {"user_id": "TEST"}}
        if path == "/v3/order/place":
            assert json is not None
            order_id = f"U{next(self._ids)}"
            qty = json["quantity"] * (1 if json["transaction_type"] == "BUY" else -1)
            key = json["instrument_token"]
            self.positions[key] = self.positions.get(key, 0) + qty
            self._orders[order_id] = {
                "status": "complete",
                "filled_quantity": json["quantity"],
                "average_price": self.price,
            }
            return {"status": "success", "data": {"order_ids": [order_id]}}
        if path == "/v2/order/details":
            assert params is not None
            return {"status": "success", "data": self._orders[params["order_id"]]}
        if path == "/v2/order/retrieve-all":
            return {"status": "success", "data": list(self._orders.values())}
        if path == "/v2/portfolio/short-term-positions":
            rows = [
                {"instrument_token": k, "quantity": q, "average_price": self.price}
                for k, q in self.positions.items()
                if q
            ]
            return {"status": "success", "data": rows}
        if path == "/v2/user/get-funds-and-margin":
            return {"status": "success", "data": {"equity": {"available_margin": 1e7, "used_margin": 0.0}}}
        raise BrokerError("upstox", f"unexpected {method} {path}")

    async def close(self) -> None:
        pass
