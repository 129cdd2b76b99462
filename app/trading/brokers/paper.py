"""The paper broker: market orders filled at the next price, with slippage and real charges.

A market order fills at the price it carries (the market price at the moment the engine
placed it: a bar's open for entries and signal exits, the touched level for stops and targets,
the close for time exits and square-offs, the last close for a flatten), moved against the
order by `slippage_bps` and rounded to the instrument's tick against it (a buy rounds up, a
sell down). With `fill_ratio` < 1 only that share of each order fills (at least one lot) and
the rest is cancelled, as an immediate-or-cancel order would be. Charges come from the cost model.

Tick and lot come from the instrument master (`TradingSpecs`); an instrument it does not hold
(the simulated market's keys, no master loaded) trades on `PaperConfig.tick` (0.05) in lots of 1.
An order that would open or add to a position with a quantity that is not a whole number of
lots is rejected, as the exchange would; one that reduces a position always fills.

Funds: equity = capital + realized - charges; `used` is the cost of open positions; an order
that would open more than `available` is rejected (orders that reduce a position never are).
The ledger (account and positions) is staged in the engine's journal with every fill, so it is
committed together with the order and trade it belongs to, and reloaded on `connect`.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from app.market.instrument_master.specs import DEFAULT_SPEC, TradingSpec, TradingSpecs
from app.trading.brokers.base import Funds, Position
from app.trading.costs import CostModel
from app.trading.enums import OrderStatus, Side
from app.trading.errors import NotConnected
from app.trading.journal import Journal
from app.trading.native import Reduced, reduced
from app.trading.orders import OrderRequest, OrderResult

NAME = "paper"


@dataclass(frozen=True, slots=True, kw_only=True)
class PaperConfig:
    """:param capital: starting funds of a new paper account, rupees.
    :param slippage_bps: how far against the order a market order fills, basis points.
    :param fill_ratio: share of each order that fills (1: all of it).
    :param tick: price tick in rupees of an instrument the instrument master does not hold."""

    capital: float = 1_000_000.0
    slippage_bps: float = 1.0
    fill_ratio: float = 1.0
    tick: float = 0.05

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)

    def __post_init__(self) -> None:
        if not self.capital > 0:
            raise ValueError(f"capital must be > 0, got {self.capital}")
        if not 0 <= self.slippage_bps <= 1000:
            raise ValueError(f"slippage_bps must be in [0, 1000], got {self.slippage_bps}")
        if not 0 < self.fill_ratio <= 1:
            raise ValueError(f"fill_ratio must be in (0, 1], got {self.fill_ratio}")
        TradingSpec(self.tick)  # a tick it can trade on, or a ValueError saying why not


@dataclass(slots=True)
class PaperState:
    """A paper account: its money and its positions (signed qty, average price)."""

    capital: float
    realized: float = 0.0
    charges: float = 0.0
    next_order: int = 1
    positions: dict[str, tuple[int, float]] = field(default_factory=dict)

    @property
    def used(self) -> float:
        """The cost of the open positions (shares x average price)."""
        return sum(abs(qty) * avg for qty, avg in self.positions.values())


class PaperBroker:
    """Simulated fills, persisted; see the module docstring.

    :param load: reads the stored account (None: a new one with `config.capital`).
    :param specs: tick and lot per instrument (the strategy's; default: `config.tick` and 1 for all).
    """

    is_live = False

    def __init__(
        self,
        *,
        config: PaperConfig,
        costs: CostModel,
        journal: Journal,
        load: Callable[[], Awaitable[PaperState | None]],
        specs: TradingSpecs | None = None,
    ) -> None:
        self.config = config
        self.costs = costs
        self.specs = specs if specs is not None else TradingSpecs()
        self._journal = journal
        self._load = load
        self._state: PaperState | None = None
        self._used = 0.0  # kept with every fill, so an order does not add up every position
        self._default_spec = TradingSpec(config.tick)  # for the instruments the master does not hold

    @property
    def name(self) -> str:
        return NAME

    @property
    def connected(self) -> bool:
        return self._state is not None

    async def connect(self) -> None:
        self._state = await self._load() or PaperState(capital=self.config.capital)
        self._used = self._state.used

    async def close(self) -> None:
        self._state = None

    async def check(self) -> None:
        self._account()  # in process: it answers whenever it is connected

    def _account(self) -> PaperState:
        if self._state is None:
            raise NotConnected(NAME)
        return self._state

    # --- orders ---------------------------------------------------------------------------

    def spec(self, instrument_key: str) -> TradingSpec:
        """The instrument's tick and lot: the master's, else `config.tick` in lots of 1."""
        spec = self.specs[instrument_key]
        return self._default_spec if spec is DEFAULT_SPEC else spec

    def fill_price(self, side: Side, price: float, spec: TradingSpec) -> float:
        """`price` moved against the order by the slippage, on the tick against it."""
        moved = price * (1 + side.sign * self.config.slippage_bps / 10_000)
        exact = round(moved / spec.tick, 6)
        ticks = math.ceil(exact) if side is Side.BUY else math.floor(exact)
        return spec.ticks(max(ticks, 1))

    async def place_order(self, request: OrderRequest) -> OrderResult:
        account = self._account()
        order_id = f"paper-{account.next_order}"
        account.next_order += 1
        if request.qty <= 0 or not math.isfinite(request.price) or request.price <= 0:
            self._stage_account(account)
            return OrderResult(
                OrderStatus.REJECTED,
                broker_order_id=order_id,
                message=f"qty {request.qty} at price {request.price} cannot fill",
            )
        spec = self.spec(request.instrument_key)
        held, avg = account.positions.get(request.instrument_key, (0, 0.0))
        if request.qty % spec.lot and abs(held + request.side.sign * request.qty) > abs(held):
            self._stage_account(account)
            return OrderResult(
                OrderStatus.REJECTED,
                broker_order_id=order_id,
                message=f"qty {request.qty} is not a whole number of lots of {spec.lot} ({request.instrument_key})",
            )
        filled = request.qty
        if self.config.fill_ratio < 1:
            part = int(request.qty * self.config.fill_ratio)
            filled = min(request.qty, max(spec.whole_lots(part), spec.lot))
        price = self.fill_price(request.side, request.price, spec)
        delta = request.side.sign * filled
        opening = abs(held + delta) > abs(held)
        if opening and abs(delta) * price > self._available(account):
            self._stage_account(account)
            return OrderResult(
                OrderStatus.REJECTED,
                broker_order_id=order_id,
                message=f"insufficient funds: {abs(delta) * price:,.2f} needed, "
                f"{self._available(account):,.2f} available",
            )
        charges = self.costs.total(request.side, filled, price)
        self._book(account, request.instrument_key, held, avg, delta, price)
        account.charges += charges
        self._stage_account(account)
        status = OrderStatus.FILLED if filled == request.qty else OrderStatus.PARTIAL
        message = None if status is OrderStatus.FILLED else f"{request.qty - filled} of {request.qty} cancelled"
        return OrderResult(status, filled, price, charges, order_id, message)

    def _book(self, account: PaperState, key: str, held: int, avg: float, delta: int, price: float) -> None:
        """Move the position by `delta` shares at `price`; realise what a reduction closes."""
        new = held + delta
        before = abs(held) * avg
        if held == 0 or (held > 0) == (delta > 0):  # opening or adding
            avg = (abs(held) * avg + abs(delta) * price) / abs(new)
        else:
            closed = min(abs(delta), abs(held))
            account.realized += closed * (price - avg) * (1 if held > 0 else -1)
            if new == 0:
                avg = 0.0
            elif (new > 0) != (held > 0):  # crossed through zero: the rest opens at this price
                avg = price
        if new == 0:
            account.positions.pop(key, None)
        else:
            account.positions[key] = (new, avg)
        self._used += abs(new) * avg - before
        self._journal.stage("hft_paper_positions", {"instrument_key": key, "qty": new, "avg_price": avg})

    def _stage_account(self, account: PaperState) -> None:
        self._journal.stage(
            "hft_paper_account",
            {
                "name": NAME,
                "capital": account.capital,
                "realized": account.realized,
                "charges": account.charges,
                "next_order": account.next_order,
            },
        )

    async def cancel_order(self, broker_order_id: str) -> None:
        """Market orders fill or cancel at once: nothing ever rests to be cancelled."""
        self._account()

    # --- state ----------------------------------------------------------------------------

    def _available(self, account: PaperState) -> float:
        return account.capital + account.realized - account.charges - self._used

    async def positions(self) -> dict[str, Position]:
        account = self._account()
        return {key: Position(key, qty, avg) for key, (qty, avg) in account.positions.items() if qty}

    async def funds(self) -> Funds:
        account = self._account()
        return Funds(self._available(account), account.used, account.realized, account.charges)
