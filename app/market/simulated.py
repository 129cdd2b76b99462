"""A simulated NSE market: real instrument keys, plausible prices, bars on the NSE grid.

Per bar and instrument, in log prices and vectorised across the universe:

- volatility clustering: GARCH(1,1) on the standardised shock, `h' = w + a*e^2 + b*h` with
  unit long-run variance (`w = 1 - a - b`), so an instrument's annual volatility holds on
  average while calm and busy stretches alternate;
- intraday seasonality: the volatility and volume of a bar follow a U over the session
  (busiest at the open, then the close), normalised so a whole session has the daily variance;
- slight cross-sectional correlation: one market shock shared by every instrument
  (correlation `rho` between any two shocks);
- an overnight gap at each session's first intraday bar;
- optionally a planted edge (`edge_bps` > 0): a slow AR(1) drift per instrument added to each
  bar's log return, `d' = phi*d + sqrt(1 - phi^2)*edge*e`, so its standard deviation is
  `edge_bps` basis points per bar and it persists for ~1/(1 - phi) bars: a momentum a model
  can learn. At 0 (the default) the market is the honest random walk above, bar for bar the
  same as without the option (the drift has a random stream of its own);
- high and low drawn from the exact extremes of a Brownian bridge between open and close,
  so OHLC is always valid; prices on the 0.05 tick; volume in whole shares, larger when
  volatility is.

A seed fixes everything: two markets with the same seed, universe, interval and start yield
identical bars, whatever the clock's speed. Bars fall on the NSE grid of the interval
(`NseCalendar.bar_grid`) and are yielded when they close on the injected clock.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from app.market.bars import BarSet, Prices
from app.market.calendar import DAY, SESSION_CLOSE_UTC, SESSION_OPEN_UTC, NseCalendar
from app.market.clock import Clock
from app.market.intervals import CANONICAL, Interval

SESSION_SECONDS = SESSION_CLOSE_UTC - SESSION_OPEN_UTC
TRADING_DAYS = 252
TICK = 0.05
TICKS_PER_RUPEE = 20


@dataclass(frozen=True, slots=True)
class SimInstrument:
    """One simulated instrument: its key, where its price starts, how it moves and trades."""

    key: str
    symbol: str
    price: float  # rupees at the first bar's open
    volatility: float  # annualised
    daily_volume: float  # shares per session, on average


NIFTY_FIVE: tuple[SimInstrument, ...] = (
    SimInstrument("NSE_EQ|INE002A01018", "RELIANCE", 2900.0, 0.22, 6_000_000),
    SimInstrument("NSE_EQ|INE467B01029", "TCS", 3900.0, 0.20, 2_000_000),
    SimInstrument("NSE_EQ|INE040A01034", "HDFCBANK", 1650.0, 0.20, 15_000_000),
    SimInstrument("NSE_EQ|INE009A01021", "INFY", 1500.0, 0.24, 7_000_000),
    SimInstrument("NSE_EQ|INE090A01021", "ICICIBANK", 1100.0, 0.22, 14_000_000),
)


def generated_instruments(count: int) -> tuple[SimInstrument, ...]:
    """`count` made-up instruments `NSE_EQ|SIM00001`...; the same ones on every call."""
    rng = np.random.default_rng(20240101)  # fixed: the universe does not change with the market's seed
    prices = _on_tick(np.exp(rng.uniform(np.log(50), np.log(5000), count)))
    vols = rng.uniform(0.18, 0.45, count)
    volumes = np.round(np.exp(rng.uniform(np.log(1e5), np.log(2e7), count)))
    return tuple(
        SimInstrument(f"NSE_EQ|SIM{i + 1:05d}", f"SIM{i + 1:05d}", float(p), float(v), float(q))
        for i, (p, v, q) in enumerate(zip(prices, vols, volumes, strict=True))
    )


def universe(size: int = len(NIFTY_FIVE)) -> tuple[SimInstrument, ...]:
    """The five real instruments, then generated ones up to `size` (e.g. 500 for benchmarks)."""
    if size < 1:
        raise ValueError(f"a universe needs at least one instrument, got {size}")
    return (NIFTY_FIVE + generated_instruments(max(0, size - len(NIFTY_FIVE))))[:size]


def _u_shape(x: Prices, open_weight: float, close_weight: float, width: float) -> Prices:
    """1 at midday, rising towards the open (x=0) and the close (x=1) of the session."""
    return 1.0 + open_weight * np.exp(-x / width) + close_weight * np.exp(-(1.0 - x) / width)


_GRID_X = (np.arange(SESSION_SECONDS) + 0.5) / SESSION_SECONDS
_VOL_SCALE = 1.0 / math.sqrt(float(np.mean(_u_shape(_GRID_X, 1.6, 0.7, 0.05) ** 2)))
_VOLUME_SCALE = 1.0 / float(np.mean(_u_shape(_GRID_X, 2.0, 1.5, 0.06)))


def volatility_season(x: Prices) -> Prices:
    """Volatility multiplier at session fraction x; its square averages 1 over a session."""
    return _VOL_SCALE * _u_shape(x, 1.6, 0.7, 0.05)


def volume_season(x: Prices) -> Prices:
    """Volume multiplier at session fraction x; averages 1 over a session."""
    return _VOLUME_SCALE * _u_shape(x, 2.0, 1.5, 0.06)


def _on_tick(prices: Prices) -> Prices:
    return np.round(prices * TICKS_PER_RUPEE) / TICKS_PER_RUPEE  # 2918.85, not 2918.8500000000004


class SimulatedMarket:
    """A `BarSource` of simulated NSE bars, paced by `clock`.

    :param clock: exchange time; bars start with the first one closing after `clock.now()`.
    :param instruments: the universe (default: RELIANCE, TCS, HDFCBANK, INFY, ICICIBANK).
    :param interval: bar interval (default 1m).
    :param seed: fixes every price and volume.
    :param calendar: the NSE calendar whose bar grid the bars follow.
    :param garch: (alpha, beta) of the GARCH(1,1) variance; alpha + beta < 1.
    :param rho: correlation between any two instruments' shocks.
    :param overnight: overnight gap volatility as a fraction of the daily volatility.
    :param edge_bps: standard deviation of the planted drift, basis points per bar; 0: none.
    :param edge_persistence: the drift's AR(1) coefficient phi, in [0, 1).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        instruments: Sequence[SimInstrument] = NIFTY_FIVE,
        interval: Interval = CANONICAL["1m"],
        seed: int = 0,
        calendar: NseCalendar | None = None,
        garch: tuple[float, float] = (0.10, 0.88),
        rho: float = 0.25,
        overnight: float = 0.3,
        edge_bps: float = 0.0,
        edge_persistence: float = 0.98,
    ) -> None:
        alpha, beta = garch
        if not (alpha >= 0 and beta >= 0 and alpha + beta < 1):
            raise ValueError(f"GARCH needs alpha, beta >= 0 and alpha + beta < 1, got {garch}")
        if not 0 <= rho < 1:
            raise ValueError(f"rho must be in [0, 1), got {rho}")
        if edge_bps < 0 or not 0 <= edge_persistence < 1:
            raise ValueError(
                f"edge_bps must be >= 0 and edge_persistence in [0, 1), got {edge_bps}, {edge_persistence}"
            )
        if len({i.key for i in instruments}) != len(instruments) or not instruments:
            raise ValueError("instruments must be a non-empty sequence of distinct keys")
        self.clock = clock
        self.spec = tuple(instruments)
        self._interval = interval
        self.seed = seed
        self.calendar = calendar or NseCalendar()
        self.alpha, self.beta, self.rho, self.overnight = alpha, beta, rho, overnight
        self.edge_bps, self.edge_persistence = edge_bps, edge_persistence
        self.edge = edge_bps / 10_000  # per bar, in log return
        self._instruments = tuple(i.key for i in self.spec)

    @property
    def interval(self) -> Interval:
        return self._interval

    @property
    def instruments(self) -> tuple[str, ...]:
        return self._instruments

    async def __aiter__(self) -> AsyncIterator[BarSet]:
        bars = self.bars_from(self.clock.now())
        for bar_set in bars:
            await self.clock.sleep_until(bar_set.close_ts)
            yield bar_set

    def bars_from(self, ts: float) -> Iterator[BarSet]:
        """Every bar closing after `ts`, in order, without waiting: the market's pure path."""
        path = _Path(self, np.random.default_rng(self.seed))
        for open_ts, close_ts in self._grid_after(ts):
            yield path.bar(open_ts, close_ts)

    def _grid_after(self, ts: float) -> Iterator[tuple[int, int]]:
        year = int(np.datetime64(int(ts), "s").astype("datetime64[Y]").astype(int)) + 1970
        while True:
            opens, closes = self.calendar.bar_grid(self._interval, year)
            start = int(np.searchsorted(closes, ts, side="right"))
            for o, c in zip(opens[start:].tolist(), closes[start:].tolist(), strict=True):
                yield o, c
            year += 1


class _Path:
    """The evolving state of one run of the market: log prices, GARCH variance, last bar."""

    def __init__(self, market: SimulatedMarket, rng: np.random.Generator) -> None:
        spec = market.spec
        self.market = market
        self.rng = rng
        self.n = len(spec)
        self.log_price = np.log(np.array([i.price for i in spec]))
        self.h = np.ones(self.n)  # GARCH variance of the standardised shock, long-run mean 1
        self.annual_vol = np.array([i.volatility for i in spec])
        self.daily_volume = np.array([i.daily_volume for i in spec])
        self.last_close_ts: int | None = None
        self.edge_rng = np.random.default_rng((market.seed, 1)) if market.edge > 0 else None
        self.drift = market.edge * self.edge_rng.standard_normal(self.n) if self.edge_rng else np.zeros(self.n)

    def bar(self, open_ts: int, close_ts: int) -> BarSet:
        market, n, rng = self.market, self.n, self.rng
        intraday = market.interval.intraday
        session_open = (open_ts // DAY) * DAY + SESSION_OPEN_UTC
        if intraday:
            x = np.array([((open_ts + close_ts) / 2 - session_open) / SESSION_SECONDS])
            vol_season, volume_season_ = float(volatility_season(x)[0]), float(volume_season(x)[0])
            fraction = (close_ts - open_ts) / SESSION_SECONDS  # of a session's variance and volume
        else:
            vol_season, volume_season_, fraction = 1.0, 1.0, 1.0
        daily_sigma = self.annual_vol / math.sqrt(TRADING_DAYS)

        normals = rng.standard_normal((3, n))
        market_shock = rng.standard_normal()
        uniforms = rng.random((2, n))

        log_open = self.log_price
        if intraday and open_ts == session_open and self.last_close_ts is not None:
            log_open = log_open + market.overnight * daily_sigma * normals[2]
        shock = math.sqrt(market.rho) * market_shock + math.sqrt(1.0 - market.rho) * normals[0]
        bar_sigma = daily_sigma * math.sqrt(fraction) * vol_season * np.sqrt(self.h)
        ret = bar_sigma * shock
        if self.edge_rng is not None:
            phi = market.edge_persistence
            self.drift = phi * self.drift + math.sqrt(1 - phi * phi) * market.edge * self.edge_rng.standard_normal(n)
            ret = ret + self.drift
        h = self.h
        self.h = (1.0 - market.alpha - market.beta) + market.alpha * h * shock**2 + market.beta * h

        # Extremes of a Brownian bridge from 0 to `ret` with variance bar_sigma^2 (exact draws).
        spread = np.sqrt(ret**2 - 2.0 * bar_sigma**2 * np.log1p(-uniforms))
        up, down = (ret + spread) / 2.0, (ret - spread) / 2.0

        open_ = _on_tick(np.exp(log_open))
        close = _on_tick(np.exp(log_open + ret))
        high = np.maximum(_on_tick(np.exp(log_open + up[0])), np.maximum(open_, close))
        low = np.minimum(_on_tick(np.exp(log_open + down[1])), np.minimum(open_, close))
        volume_noise = np.exp(0.35 * normals[1] - 0.35**2 / 2)
        volume = np.round(self.daily_volume * fraction * volume_season_ * np.sqrt(h) * volume_noise)

        self.log_price = log_open + ret
        self.last_close_ts = close_ts
        return BarSet(market.interval, open_ts, close_ts, market.instruments, open_, high, low, close, volume)
