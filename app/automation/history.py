"""History for the simulated market: the bars it would have made before its live start.

The live SimulatedMarket only has bars from the moment the server started, so a model could
never be trained on it. `SimulatedHistory` generates `days` sessions before the live start
from the market's own deterministic path (`SimulatedMarket.bars_from`, same instruments,
interval and calendar, a seed derived from the live seed), then shifts each instrument's
prices so the history ends at the price the live market opens with: history and live bars
join up without a jump. Prices are put back on the 0.05 tick (rounding is monotone, so OHLC
stays valid). Same seed, same history.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from app.market.calendar import NseCalendar
from app.market.clock import ManualClock
from app.market.intervals import parse_interval
from app.market.simulated import TICKS_PER_RUPEE, SimInstrument, SimulatedMarket

HISTORY_SEED_SALT = 0x5EED


@dataclass(frozen=True, slots=True)
class HistorySpec:
    """What a worker process needs to regenerate the history (picklable)."""

    instruments: tuple[SimInstrument, ...]
    seed: int
    live_start: float
    edge_bps: float = 0.0  # the live market's planted edge: the history has it too


def generate_history(
    spec: HistorySpec, keys: Sequence[str], interval: str, days: int, reporter: object
) -> dict[str, pd.DataFrame]:
    """Candle frames (ts, open, high, low, close, volume) of `keys`: `days` sessions up to the live start."""
    calendar = NseCalendar()
    iv = parse_interval(interval)
    wanted = [i for i in spec.instruments if i.key in keys]
    opens, _ = _sessions_before(calendar, spec.live_start, days)
    first = float(opens[0]) - 1
    market = SimulatedMarket(
        ManualClock(first),
        instruments=wanted,
        interval=iv,
        seed=(spec.seed ^ HISTORY_SEED_SALT) % 2**31,
        calendar=calendar,
        edge_bps=spec.edge_bps,
    )
    rows: list[np.ndarray] = []
    stamps: list[int] = []
    for bars in market.bars_from(first):
        if bars.close_ts > spec.live_start:
            break
        stamps.append(bars.open_ts)
        rows.append(np.stack([bars.open, bars.high, bars.low, bars.close, bars.volume]))
    if not rows:
        return {}
    cube = np.stack(rows)  # (T, 5, n)
    scale = np.array([i.price for i in wanted]) / cube[-1, 3]  # history ends where live opens
    prices = np.round(cube[:, :4] * scale * TICKS_PER_RUPEE) / TICKS_PER_RUPEE
    ts = np.array(stamps, dtype=np.int64)
    return {
        inst.key: pd.DataFrame(
            {
                "ts": ts,
                "open": prices[:, 0, j],
                "high": prices[:, 1, j],
                "low": prices[:, 2, j],
                "close": prices[:, 3, j],
                "volume": cube[:, 4, j],
            }
        )
        for j, inst in enumerate(wanted)
    }


def _sessions_before(calendar: NseCalendar, ts: float, days: int) -> tuple[np.ndarray, np.ndarray]:
    """The last `days` sessions that open before `ts`."""
    year = int(pd.Timestamp(ts, unit="s", tz="Asia/Kolkata").year)
    opens, closes = calendar.sessions(year)
    while int((opens < ts).sum()) < days:
        year -= 1
        o, c = calendar.sessions(year)
        opens, closes = np.concatenate([o, opens]), np.concatenate([c, closes])
    keep = np.flatnonzero(opens < ts)[-days:]
    return opens[keep], closes[keep]


class SimulatedHistory:
    """The history source of a running SimulatedMarket.

    :param market: the live market (its instruments, seed, and clock start).
    """

    def __init__(self, market: SimulatedMarket) -> None:
        start = getattr(market.clock, "start", None)
        live_start = float(start if start is not None else market.clock.now())
        self.spec = HistorySpec(market.spec, market.seed, live_start, market.edge_bps)

    @property
    def instruments(self) -> tuple[str, ...]:
        return tuple(i.key for i in self.spec.instruments)
