"""The simulated market: deterministic, valid OHLC, clustered and U-shaped volatility, on the NSE grid."""

from __future__ import annotations

import asyncio
import itertools

import numpy as np
import pytest

from app.market.bars import BarSet
from app.market.calendar import DAY, SESSION_OPEN_UTC, NseCalendar
from app.market.clock import ManualClock
from app.market.intervals import CANONICAL
from app.market.simulated import NIFTY_FIVE, SESSION_SECONDS, SimulatedMarket, universe, volatility_season
from tests.market.conftest import ist

START = ist("2024-01-25 09:15")  # Thursday; Friday 26th is a holiday


def run(n: int, *, start: int = START, **kw: object) -> list[BarSet]:
    market = SimulatedMarket(ManualClock(start), **kw)  # type: ignore[arg-type]
    return list(itertools.islice(market.bars_from(start), n))


def stack(bars: list[BarSet], field: str) -> np.ndarray:
    return np.vstack([getattr(b, field) for b in bars])


def test_same_seed_same_bars_other_seed_other_bars(calendar: NseCalendar) -> None:
    a, b, c = (run(800, seed=s, calendar=calendar) for s in (7, 7, 8))
    for field in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(stack(a, field), stack(b, field))
    assert [x.close_ts for x in a] == [x.close_ts for x in b]
    assert not np.array_equal(stack(a, "close"), stack(c, "close"))


async def test_iteration_on_the_clock_yields_the_same_path(calendar: NseCalendar) -> None:
    clock = ManualClock(START)
    market = SimulatedMarket(clock, seed=3, calendar=calendar)
    expected = run(3, seed=3, calendar=calendar)
    got: list[BarSet] = []
    iterator = aiter(market)
    for want in expected:
        pending = asyncio.ensure_future(anext(iterator))
        assert await clock.step() == want.close_ts  # the market waits for exactly the bar's close
        got.append(await pending)
    assert [np.array_equal(g.close, w.close) for g, w in zip(got, expected, strict=True)] == [True] * 3
    await iterator.aclose()  # type: ignore[attr-defined]


def test_default_universe_real_keys_and_plausible_prices(calendar: NseCalendar) -> None:
    (first,) = run(1, seed=1, calendar=calendar)
    assert first.instruments == (
        "NSE_EQ|INE002A01018",
        "NSE_EQ|INE467B01029",
        "NSE_EQ|INE040A01034",
        "NSE_EQ|INE009A01021",
        "NSE_EQ|INE090A01021",
    )
    assert np.allclose(first.open, [i.price for i in NIFTY_FIVE])
    assert np.all(np.abs(first.close / first.open - 1) < 0.02)


def test_ohlc_valid_on_tick_and_continuous(calendar: NseCalendar) -> None:
    bars = run(3000, seed=11, instruments=universe(50), calendar=calendar)
    o, h, l, c, v = (stack(bars, f) for f in ("open", "high", "low", "close", "volume"))
    assert np.all(h >= np.maximum(o, c)) and np.all(l <= np.minimum(o, c)) and np.all(l > 0)
    assert np.all(v >= 0) and np.all(v == np.round(v))
    for prices in (o, h, l, c):
        assert np.allclose(prices * 20, np.round(prices * 20), atol=1e-6)  # 0.05 tick
    same_session = np.array([b.open_ts != (b.open_ts // DAY) * DAY + SESSION_OPEN_UTC for b in bars[1:]])
    assert np.array_equal(o[1:][same_session], c[:-1][same_session])  # open = previous close within a session


def test_bars_on_the_nse_grid_skipping_the_holiday_weekend(calendar: NseCalendar) -> None:
    bars = run(400, start=ist("2024-01-25 15:00"), seed=1, calendar=calendar)
    opens, closes = calendar.bar_grid(CANONICAL["1m"], 2024)
    i = int(np.searchsorted(closes, ist("2024-01-25 15:00"), side="right"))
    assert [b.open_ts for b in bars] == opens[i : i + 400].tolist()
    assert [b.close_ts for b in bars] == closes[i : i + 400].tolist()
    thursday_last, monday_first = bars[29], bars[30]
    assert thursday_last.close_ts == ist("2024-01-25 15:30")
    assert monday_first.open_ts == ist("2024-01-29 09:15")


def test_ten_minute_bars_end_with_the_short_bar(calendar: NseCalendar) -> None:
    bars = run(38, seed=1, interval=CANONICAL["10m"], calendar=calendar)
    assert bars[0].close_ts - bars[0].open_ts == 600
    assert (bars[37].open_ts, bars[37].close_ts) == (ist("2024-01-25 15:25"), ist("2024-01-25 15:30"))


def test_daily_bars_one_per_session(calendar: NseCalendar) -> None:
    bars = run(3, seed=1, interval=CANONICAL["1d"], calendar=calendar)
    assert [(b.open_ts, b.close_ts) for b in bars] == [
        (ist("2024-01-25 09:15"), ist("2024-01-25 15:30")),
        (ist("2024-01-29 09:15"), ist("2024-01-29 15:30")),
        (ist("2024-01-30 09:15"), ist("2024-01-30 15:30")),
    ]


def intraday_returns(bars: list[BarSet]) -> tuple[np.ndarray, np.ndarray]:
    """log(close/open) of every bar (no overnight gaps) and each bar's session fraction."""
    r = np.log(stack(bars, "close") / stack(bars, "open"))
    x = np.array([((b.open_ts + b.close_ts) / 2 - ((b.open_ts // DAY) * DAY + SESSION_OPEN_UTC)) for b in bars])
    return r, x / SESSION_SECONDS


def lag1_autocorrelation(x: np.ndarray) -> float:
    x = x - x.mean(axis=0)
    return float(np.mean((x[1:] * x[:-1]).sum(axis=0) / (x * x).sum(axis=0)))


@pytest.fixture(scope="module")
def long_run(calendar: NseCalendar) -> list[BarSet]:
    return run(375 * 40, seed=5, instruments=universe(10), calendar=calendar)  # 40 sessions of 1m bars


def test_volatility_clusters(long_run: list[BarSet], calendar: NseCalendar) -> None:
    r, x = intraday_returns(long_run)
    deseasoned = r / volatility_season(x)[:, None]
    clustered = lag1_autocorrelation(deseasoned**2)
    assert clustered > 0.1
    flat = run(375 * 40, seed=5, instruments=universe(10), garch=(0.0, 0.0), calendar=calendar)
    r0, x0 = intraday_returns(flat)
    assert abs(lag1_autocorrelation((r0 / volatility_season(x0)[:, None]) ** 2)) < 0.03


def test_intraday_u_shape_in_volatility_and_volume(long_run: list[BarSet]) -> None:
    r, x = intraday_returns(long_run)
    minutes = x * SESSION_SECONDS / 60
    first, last, midday = minutes < 30, minutes > 375 - 30, (minutes > 165) & (minutes < 225)
    abs_r = np.abs(r)
    assert abs_r[first].mean() > 1.5 * abs_r[midday].mean()
    assert abs_r[last].mean() > 1.1 * abs_r[midday].mean()
    volume = stack(long_run, "volume")
    assert volume[first].mean() > 1.5 * volume[midday].mean()
    assert volume[last].mean() > 1.5 * volume[midday].mean()


def test_instruments_move_together_slightly(long_run: list[BarSet]) -> None:
    r, _ = intraday_returns(long_run)
    corr = np.corrcoef(r.T)
    off_diagonal = corr[~np.eye(len(corr), dtype=bool)]
    assert 0.1 < off_diagonal.mean() < 0.45


def test_daily_volatility_matches_the_annual_figure(long_run: list[BarSet]) -> None:
    closes = stack(long_run, "close")[374::375]  # each session's last close
    annual = np.std(np.diff(np.log(closes), axis=0), axis=0) * np.sqrt(252)
    expected = np.array([i.volatility for i in universe(10)])
    assert np.all(np.abs(annual / expected - 1) < 0.5)  # 40 days: a loose check of the scale


def test_five_hundred_instruments_vectorised(calendar: NseCalendar) -> None:
    bars = run(5, seed=2, instruments=universe(500), calendar=calendar)
    assert len(bars[0].instruments) == 500 and bars[0].close.shape == (500,)
    assert bars[0].instruments[5] == "NSE_EQ|SIM00001" and bars[0].instruments[-1] == "NSE_EQ|SIM00495"
    assert universe(500)[100] == universe(500)[100]  # the generated universe does not depend on the seed


def test_a_planted_edge_is_a_persistent_drift_and_zero_is_the_honest_walk(calendar: NseCalendar) -> None:
    honest, zero = run(1500, seed=4, calendar=calendar), run(1500, seed=4, edge_bps=0.0, calendar=calendar)
    assert np.array_equal(stack(honest, "close"), stack(zero, "close"))  # the option off: bar for bar the same
    r0, _ = intraday_returns(honest)
    r, _ = intraday_returns(run(1500, seed=4, edge_bps=4.0, calendar=calendar))
    assert abs(lag1_autocorrelation(r0)) < 0.03
    assert lag1_autocorrelation(r) > 0.1  # today's drift is tomorrow's: a momentum a model can learn


def test_bad_parameters_fail_at_construction() -> None:
    clock = ManualClock(START)
    with pytest.raises(ValueError, match="GARCH"):
        SimulatedMarket(clock, garch=(0.5, 0.6))
    with pytest.raises(ValueError, match="rho"):
        SimulatedMarket(clock, rho=1.0)
    with pytest.raises(ValueError, match="edge_bps"):
        SimulatedMarket(clock, edge_bps=-1.0)
    with pytest.raises(ValueError, match="distinct"):
        SimulatedMarket(clock, instruments=NIFTY_FIVE + NIFTY_FIVE[:1])
