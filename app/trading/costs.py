"""What a fill costs on an Indian exchange: the charges of an intraday equity trade.

Defaults follow NSE intraday (MIS) equity charges of a discount broker, per executed order:

| charge | rate | on |
| --- | --- | --- |
| brokerage | 0.03 % of turnover, at most Rs 20 | every order |
| STT | 0.025 % | the sell side |
| exchange transaction charges (NSE) | 0.00297 % | turnover, both sides |
| SEBI turnover fees | Rs 10 per crore (0.0001 %) | turnover, both sides |
| GST | 18 % | brokerage + exchange charges + SEBI fees |
| stamp duty | 0.003 % | the buy side |

Every rate is a setting (SIGNALDESK_HFT_COST_*), so a different broker or a new circular is a
configuration change. Amounts are rupees, not rounded (contract notes round per order; the
difference is paise).
"""

from __future__ import annotations

from dataclasses import dataclass

from app.trading.enums import Side
from app.trading.native import Reduced, reduced

CRORE = 10_000_000.0


@dataclass(frozen=True, slots=True)
class Charges:
    brokerage: float
    stt: float
    exchange: float
    sebi: float
    gst: float
    stamp: float

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)

    @property
    def total(self) -> float:
        return self.brokerage + self.stt + self.exchange + self.sebi + self.gst + self.stamp


@dataclass(frozen=True, slots=True, kw_only=True)
class CostModel:
    """Charges of one executed order.

    :param brokerage_pct: brokerage, percent of turnover ...
    :param brokerage_cap: ... but at most this many rupees per order.
    :param stt_sell_pct: securities transaction tax, percent of sell turnover.
    :param exchange_pct: exchange transaction charges, percent of turnover.
    :param sebi_per_crore: SEBI turnover fees, rupees per crore of turnover.
    :param gst_pct: GST, percent of brokerage + exchange charges + SEBI fees.
    :param stamp_buy_pct: stamp duty, percent of buy turnover.
    """

    brokerage_pct: float = 0.03
    brokerage_cap: float = 20.0
    stt_sell_pct: float = 0.025
    exchange_pct: float = 0.00297
    sebi_per_crore: float = 10.0
    gst_pct: float = 18.0
    stamp_buy_pct: float = 0.003

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)

    def __post_init__(self) -> None:
        for name in (
            "brokerage_pct",
            "brokerage_cap",
            "stt_sell_pct",
            "exchange_pct",
            "sebi_per_crore",
            "gst_pct",
            "stamp_buy_pct",
        ):
            if not getattr(self, name) >= 0:
                raise ValueError(f"{name} must be >= 0, got {getattr(self, name)}")

    def charges(self, side: Side, qty: int, price: float) -> Charges:
        """The charges of one order of `qty` shares (> 0) filled at `price`."""
        return Charges(*self.by_kind(abs(qty) * price, side is Side.SELL))

    def total(self, side: Side, qty: int, price: float) -> float:
        """`charges(side, qty, price).total`, to the bit, without the object (every paper fill asks)."""
        brokerage, stt, exchange, sebi, gst, stamp = self.by_kind(abs(qty) * price, side is Side.SELL)
        return brokerage + stt + exchange + sebi + gst + stamp  # as Charges.total adds them

    def by_kind(self, turnover: float, sell: bool) -> tuple[float, float, float, float, float, float]:
        """The charges of one order of `turnover` rupees, in `Charges` field order: the one
        formula (a report sums a year's orders from these, without an object each)."""
        brokerage = min(turnover * self.brokerage_pct / 100.0, self.brokerage_cap)
        exchange = turnover * self.exchange_pct / 100.0
        sebi = turnover * self.sebi_per_crore / CRORE
        return (
            brokerage,
            turnover * self.stt_sell_pct / 100.0 if sell else 0.0,
            exchange,
            sebi,
            (brokerage + exchange + sebi) * self.gst_pct / 100.0,
            0.0 if sell else turnover * self.stamp_buy_pct / 100.0,
        )

    def round_trip(self, qty: int, price: float) -> float:
        """Rupees to buy and sell `qty` shares at `price` (one buy, one sell): the two orders'
        `Charges.total`, to the bit, without building them (the strategy asks at every entry)."""
        return self.total(Side.BUY, qty, price) + self.total(Side.SELL, qty, price)

    def floor_fraction(self) -> float:
        """The least round-trip charges any order size can have, as a fraction of the notional:
        every charge in percent of turnover, brokerage at none (its cap makes it vanish as the
        order grows)."""
        exchange, sebi = self.exchange_pct / 100.0, self.sebi_per_crore / CRORE
        per_side = exchange + sebi + (exchange + sebi) * self.gst_pct / 100.0
        return 2 * per_side + self.stt_sell_pct / 100.0 + self.stamp_buy_pct / 100.0

    def round_trip_fraction(self, qty: int, price: float) -> float:
        """Round-trip charges as a fraction of the notional (what a predicted return must beat)."""
        notional = abs(qty) * price
        return self.round_trip(qty, price) / notional if notional > 0 else float("inf")
