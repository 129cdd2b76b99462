"""Tick and lot size per instrument, for sizing, stops and paper fills.

From the instrument master when it holds the instrument (its `tick_size`, in rupees, and its
`lot_size`); anything else (the simulated market's keys, indices without a tick, no master
loaded) trades on the NSE cash market's 0.05 tick in lots of 1.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field

DEFAULT_TICK = 0.05
DEFAULT_LOT = 1
MICRO = 1_000_000  # a tick is a whole number of millionths of a rupee


@dataclass(frozen=True, slots=True)
class TradingSpec:
    """:param tick: price tick, rupees, a whole number of millionths of a rupee (the master's
    are: paise to six decimals). :param lot: the quantity is a whole number of these."""

    tick: float = DEFAULT_TICK
    lot: int = DEFAULT_LOT
    _micro: int = field(init=False, repr=False, compare=False)  # the tick in millionths of a rupee

    def __post_init__(self) -> None:
        if not (math.isfinite(self.tick) and self.tick > 0) or self.lot < 1:
            raise ValueError(f"a tick must be > 0 and a lot >= 1, got tick {self.tick}, lot {self.lot}")
        micro = round(self.tick * MICRO)
        if micro < 1 or abs(micro - self.tick * MICRO) > 1e-6 * micro:
            raise ValueError(f"a tick must be a whole number of millionths of a rupee, got {self.tick}")
        object.__setattr__(self, "_micro", micro)

    def __reduce__(self) -> tuple[type[TradingSpec], tuple[float, int]]:
        return TradingSpec, (self.tick, self.lot)  # compiled (app.trading.native), pickle could not rebuild it

    def round(self, price: float) -> float:
        """`price` on the nearest tick."""
        return self.ticks(round(price / self.tick))

    def ticks(self, n: int) -> float:
        """`n` ticks, rupees: `round(n * tick, 6)` to the bit (the double nearest the decimal),
        as the exact integer n x tick-in-millionths divided once, which is correctly rounded
        too, without the decimal conversion `round(x, 6)` makes (9% of a trade backtest's engine time)."""
        return n * self._micro / MICRO

    def whole_lots(self, qty: int) -> int:
        """`qty` rounded down (towards zero) to whole lots."""
        lots = abs(qty) // self.lot
        return int(math.copysign(lots * self.lot, qty)) if lots else 0


DEFAULT_SPEC = TradingSpec()


SpecLoader = Callable[[Iterable[str]], Awaitable[Mapping[str, TradingSpec]]]


class TradingSpecs:
    """Each instrument's TradingSpec; DEFAULT_SPEC for one it does not hold.

    One object is shared by the strategy and the paper broker; `refresh` reloads it for the
    instruments of a run when the run starts (a master synced meanwhile is picked up then).
    :param load: reads the specs of some keys (InstrumentMaster.trading_specs); None: fixed `specs`.
    """

    def __init__(self, specs: Mapping[str, TradingSpec] | None = None, *, load: SpecLoader | None = None) -> None:
        self._specs = dict(specs or {})
        self._load = load

    def __getitem__(self, instrument_key: str) -> TradingSpec:
        return self._specs.get(instrument_key, DEFAULT_SPEC)

    def __len__(self) -> int:
        return len(self._specs)

    async def refresh(self, keys: Iterable[str]) -> None:
        if self._load is not None:
            self._specs = dict(await self._load(keys))
