"""Upstox's own figure of what a fill cost: the brokerage API asked about the fill.

Upstox has no per-order actual charges in its API: the trade P&L charges report
(`GET /v2/trade/profit-loss/charges?segment=&financial_year=&from_date=&to_date=`) answers one
breakdown per period and segment (`data.charges_breakdown`: total, brokerage, taxes, charges),
never per order. The brokerage API (`GET /v2/charges/brokerage`) answers Upstox's charges of an
order of a given instrument, quantity, product, side and price, by the account's own brokerage
plan: asked with what actually filled (the shares and their average price, product I), it is the
broker's figure of that fill. Its answer is `data.charges`: `total`, `brokerage`, `taxes` (gst,
stt, stamp_duty), the exchange's and SEBI's charges, `dp_plan`; only `total` is kept.
"""

from __future__ import annotations

import math
from typing import Any

from app.trading.brokers.base import Fill
from app.trading.errors import BrokerError

BROKERAGE = "/v2/charges/brokerage"


def brokerage_params(fill: Fill) -> dict[str, Any]:
    """The brokerage API's query for `fill`: an intraday (product I) order of what filled."""
    return {
        "instrument_token": fill.instrument_key,
        "quantity": fill.qty,
        "product": "I",
        "transaction_type": fill.side.value.upper(),
        "price": fill.avg_price,
    }


def charges_total(broker: str, fill: Fill, answer: dict[str, Any]) -> float:
    """`data.charges.total` of the brokerage API's answer, rupees; BrokerError naming the field
    and the value when it is missing, not a number, or negative."""
    data = answer.get("data")
    charges = data.get("charges") if isinstance(data, dict) else None
    total = charges.get("total") if isinstance(charges, dict) else None
    if isinstance(total, bool) or not isinstance(total, int | float) or not math.isfinite(total) or total < 0:
        raise BrokerError(
            broker,
            f"brokerage of order {fill.client_order_id}: data.charges.total is {total!r}, "
            f"not a number of rupees >= 0 (answer: {str(answer)[:300]})",
        )
    return float(total)
