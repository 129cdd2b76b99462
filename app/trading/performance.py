"""How a record of trades did: one computation for the trade backtest, the live and paper record
and the dashboard (docs/performance.md states every definition).

Input: the trades (`Trade`, net of their charges), the orders that carried them (for turnover and
the charges by kind, which the cost model splits again from each fill) and, when known, the
closing price of every bar (`Marks`). The equity curve is capital + realized PnL + the open
trades marked at each bar's close; without marks it steps at each exit. The ratios come from
empyrical (empyrical-reloaded) on the daily returns, annualised over 250 sessions. A figure that
cannot be had is None, and `unavailable` says why in words ("no trades", "one day", ...).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from app.trading.costs import Charges, CostModel
from app.trading.enums import Side
from app.trading.strategy import ist_day
from app.trading.trades import Trade

SESSIONS_PER_YEAR = 250  # NSE trading sessions in a year: the annualisation of every ratio
CHARGE_KINDS = ("brokerage", "stt", "exchange", "sebi", "gst", "stamp")


@dataclass(frozen=True, slots=True)
class Marks:
    """The close of every bar: `close[bar, instrument]`, bars ascending by `open_ts` (epoch s)."""

    instruments: tuple[str, ...]
    open_ts: np.ndarray
    close_ts: np.ndarray
    close: np.ndarray

    def __post_init__(self) -> None:
        if self.close.shape != (len(self.open_ts), len(self.instruments)) or len(self.close_ts) != len(self.open_ts):
            raise ValueError(
                f"marks: close is {self.close.shape}, expected ({len(self.open_ts)}, {len(self.instruments)})"
            )


class Result(BaseModel):
    """What `measure` answers, typed once for the backtest, the CLI and the API (the answer of
    GET /api/hft/performance, checked against it): every field is in every answer, defaults or not."""

    model_config = ConfigDict(json_schema_serialization_defaults_required=True, extra="forbid")


class Drawdown(Result, frozen=True):
    """The deepest fall of equity from a peak: rupees, percent of the peak, and when (epoch
    seconds; a null recovery: not yet)."""

    amount: float = 0.0
    pct: float = 0.0
    start_ts: int | None = None  # the peak it fell from
    trough_ts: int | None = None
    recovery_ts: int | None = None  # when equity first stood at the peak again; None: not yet
    recovery_seconds: int | None = None  # from the peak to the recovery


class GroupStats(Result, frozen=True):
    """The closed trades of one instrument, horizon or exit reason."""

    key: str
    trades: int
    wins: int
    win_rate: float | None
    net_pnl: float
    gross_pnl: float
    charges: float
    profit_factor: float | None
    expectancy: float | None


class DayPnl(Result, frozen=True):
    day: str  # IST date
    pnl: float  # the change of equity over the day (realized + open), rupees
    ret: float  # pnl / the equity at the previous day's end
    trades: int  # trades closed that day
    equity: float  # at the day's last point


class Performance(Result):
    """Every figure of a record, rupees unless said (docs/performance.md defines each). A null
    figure could not be had: `unavailable` names it with the reason. The series: `curve_ts` (epoch
    seconds, each bar's close) with `equity` and `drawdown` (rupees below the running peak).
    Also the answer of GET /api/hft/performance, as it stands."""

    capital: float
    start_ts: int | None = None
    end_ts: int | None = None
    sessions: int = 0
    trades: int = 0
    open_trades: int = 0
    wins: int = 0
    losses: int = 0
    win_rate: float | None = None
    net_pnl: float = 0.0
    gross_pnl: float = 0.0
    charges: float = 0.0
    broker_charges: float | None = None  # the broker's own figure, where every fill's is known
    charges_by_kind: dict[str, float] = Field(default_factory=lambda: dict.fromkeys(CHARGE_KINDS, 0.0))
    open_pnl: float = 0.0
    total_return: float = 0.0
    cagr: float | None = None
    sharpe: float | None = None
    sortino: float | None = None
    calmar: float | None = None
    profit_factor: float | None = None
    expectancy: float | None = None
    avg_win: float | None = None
    avg_loss: float | None = None
    longest_win_streak: int = 0
    longest_loss_streak: int = 0
    exposure: float | None = None
    turnover: float = 0.0
    turnover_ratio: float = 0.0
    max_drawdown: Drawdown = Field(default_factory=Drawdown)
    unavailable: dict[str, str] = Field(default_factory=dict)
    by_instrument: list[GroupStats] = Field(default_factory=list)
    by_horizon: list[GroupStats] = Field(default_factory=list)
    by_exit_reason: list[GroupStats] = Field(default_factory=list)
    daily: list[DayPnl] = Field(default_factory=list)
    curve_ts: list[int] = Field(default_factory=list)
    equity: list[float] = Field(default_factory=list)
    drawdown: list[float] = Field(default_factory=list)

    def public(self) -> dict[str, Any]:
        """Plain JSON (GET /api/hft/performance, `backtest --trade --json`)."""
        return self.model_dump()


def measure(
    trades: Sequence[Trade],
    orders: Sequence[Mapping[str, Any]],
    *,
    capital: float,
    costs: CostModel,
    marks: Marks | None = None,
) -> Performance:
    """The performance of `trades` (closed and open) carried by `orders`, on `capital` rupees."""
    perf = Performance(capital=capital)
    closed = sorted((t for t in trades if t.pnl is not None), key=lambda t: (t.exit_ts or 0, t.trade_id))
    _trade_stats(perf, closed)
    perf.open_trades = len(trades) - len(closed)
    _order_stats(perf, orders, costs)
    ts, realized, open_pnl, exposed = _curve(trades, closed, marks)
    equity = capital + realized + open_pnl
    perf.curve_ts, perf.equity = ts.tolist(), equity.tolist()
    peak = np.maximum.accumulate(np.concatenate([[capital], equity]))[1:] if len(equity) else equity
    perf.drawdown = (equity - peak).tolist()
    perf.open_pnl = float(open_pnl[-1]) if len(open_pnl) else 0.0
    perf.exposure = float(exposed.mean()) if exposed is not None and len(exposed) else None
    if perf.exposure is None:
        perf.unavailable["exposure"] = "no bar marks"
    if len(ts):
        perf.start_ts, perf.end_ts = int(ts[0]), int(ts[-1])
        perf.total_return = float(equity[-1] / capital - 1.0)
    perf.max_drawdown = _max_drawdown(ts, equity, capital)
    _daily(perf, ts, equity, closed)
    _ratios(perf)
    return perf


def _stats(pnl: np.ndarray) -> tuple[float | None, float | None, str | None]:
    """Profit factor, expectancy, and why the profit factor is missing."""
    if not len(pnl):
        return None, None, "no trades"
    losses = -pnl[pnl < 0].sum()
    if losses == 0:
        return None, float(pnl.mean()), "no losing trade"
    return float(pnl[pnl > 0].sum() / losses), float(pnl.mean()), None


def _trade_stats(perf: Performance, closed: list[Trade]) -> None:
    pnl = np.array([t.pnl for t in closed], dtype=np.float64)
    perf.trades = len(closed)
    perf.wins, perf.losses = int((pnl > 0).sum()), int((pnl < 0).sum())
    perf.win_rate = perf.wins / perf.trades if perf.trades else None
    perf.net_pnl = float(pnl.sum())
    perf.gross_pnl = float(sum(t.gross for t in closed))
    perf.charges = float(sum(t.charges for t in closed))
    perf.profit_factor, perf.expectancy, why = _stats(pnl)
    if why:
        perf.unavailable["profit_factor"] = why
    if not perf.trades:
        perf.unavailable["expectancy"] = "no trades"
    perf.avg_win = float(pnl[pnl > 0].mean()) if perf.wins else None
    perf.avg_loss = float(pnl[pnl < 0].mean()) if perf.losses else None
    perf.longest_win_streak = _longest_run(pnl > 0)
    perf.longest_loss_streak = _longest_run(pnl < 0)
    perf.by_instrument = _groups(closed, lambda t: t.instrument_key)
    perf.by_horizon = _groups(closed, lambda t: str(t.horizon_steps))
    perf.by_exit_reason = _groups(closed, lambda t: str(t.exit_reason))


def _longest_run(flags: np.ndarray) -> int:
    """The longest run of True (a zero-PnL trade breaks a win streak and a loss streak alike)."""
    padded = np.concatenate([[0], flags.astype(np.int8), [0]])
    edges = np.flatnonzero(np.diff(padded))
    return int((edges[1::2] - edges[::2]).max()) if len(edges) else 0


def _groups(closed: list[Trade], key: Callable[[Trade], str]) -> list[GroupStats]:
    grouped: dict[str, list[Trade]] = {}
    for t in closed:
        grouped.setdefault(key(t), []).append(t)
    out = []
    for name, group in sorted(grouped.items()):
        pnl = np.array([t.pnl for t in group], dtype=np.float64)
        wins = int((pnl > 0).sum())
        profit_factor, expectancy, _ = _stats(pnl)
        out.append(
            GroupStats(
                key=name,
                trades=len(group),
                wins=wins,
                win_rate=wins / len(group),
                net_pnl=float(pnl.sum()),
                gross_pnl=float(sum(t.gross for t in group)),
                charges=float(sum(t.charges for t in group)),
                profit_factor=profit_factor,
                expectancy=expectancy,
            )
        )
    return out


def split_charges(order: Mapping[str, Any], costs: CostModel) -> Charges | None:
    """The cost model's charges of a stored order's fill, by kind; None when it filled nothing."""
    if not order["filled_qty"] or order["fill_price"] is None:
        return None
    return costs.charges(Side(order["side"]), int(order["filled_qty"]), float(order["fill_price"]))


def _order_stats(perf: Performance, orders: Sequence[Mapping[str, Any]], costs: CostModel) -> None:
    """Turnover and the charges by kind, from every order that filled shares."""
    filled = [o for o in orders if o["filled_qty"] and o["fill_price"] is not None]
    turnover = [int(o["filled_qty"]) * float(o["fill_price"]) for o in filled]
    kinds = [costs.by_kind(t, o["side"] == Side.SELL) for t, o in zip(turnover, filled, strict=True)]
    perf.charges_by_kind = dict(zip(CHARGE_KINDS, np.array(kinds).reshape(-1, 6).sum(axis=0).tolist(), strict=True))
    perf.turnover = float(sum(turnover))
    perf.turnover_ratio = perf.turnover / perf.capital
    broker = [o.get("broker_charges") for o in filled]
    if broker and all(b is not None for b in broker):
        perf.broker_charges = float(sum(b for b in broker if b is not None))
    else:
        perf.unavailable["broker_charges"] = "no fills" if not broker else "not every fill's broker figure is known"


def _curve(
    trades: Sequence[Trade], closed: list[Trade], marks: Marks | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray | None]:
    """(ts, realized, open PnL, a position was open) per point: per bar with marks, else per exit."""
    if marks is None or not len(marks.open_ts):
        exits = np.array([t.exit_ts for t in closed], dtype=np.int64)
        cumulative = np.cumsum(np.array([t.pnl for t in closed], dtype=np.float64))
        latest = np.append(exits[1:] != exits[:-1], True) if len(exits) else np.zeros(0, dtype=bool)
        return exits[latest], cumulative[latest], np.zeros(int(latest.sum())), None  # one point per exit time
    n, width = len(marks.open_ts), len(marks.instruments)
    column = {key: i for i, key in enumerate(marks.instruments)}
    close = pd.DataFrame(marks.close).ffill().to_numpy(np.float64)  # a bar without a close keeps the last one
    # Over the bars it is marked at (from its entry bar, marked from its close, to the bar of its
    # last exit), a trade adds size x (price - entry) + fixed to the open PnL: a closed trade its
    # whole size less its entry charges, an open one what is still open plus what it has realized
    # and paid so far. Where its instrument has no close yet (or is not marked: column `width`)
    # the price is its entry. Summed per bar and instrument with difference arrays.
    done = [t.pnl is not None for t in trades]
    size = np.array([t.qty if d else t.open_qty for t, d in zip(trades, done, strict=True)], dtype=np.float64)
    entry = np.array([t.entry for t in trades], dtype=np.float64)
    fixed = np.array([-t.entry_charges if d else t.gross - t.charges for t, d in zip(trades, done, strict=True)])
    col = np.array([column.get(t.instrument_key, width) for t in trades], dtype=np.int64)
    first = np.searchsorted(marks.open_ts, np.array([t.entry_ts for t in trades], dtype=np.int64))
    never = np.iinfo(np.int64).max  # an open trade's exit: after every bar
    last = np.searchsorted(marks.open_ts, np.array([never if t.exit_ts is None else t.exit_ts for t in trades]))
    realized = np.zeros(n + 1)  # slot n: exits after the last bar, and open trades
    np.add.at(realized, np.where(done, last, n), np.array([t.pnl or 0.0 for t in trades]))
    marked = first < last
    first, last, col = first[marked], last[marked], col[marked]

    def running(values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """Per bar and column, the sum of `values` over the trades marked there."""
        delta = np.zeros((n + 1, width + 1))
        np.add.at(delta, (first, col), values[marked])
        np.add.at(delta, (last, col), -values[marked])
        return np.cumsum(delta, axis=0)[:n]

    shares, cost = running(size), running(size * entry)
    known = np.isfinite(close)
    moved = np.where(known, shares[:, :width] * np.where(known, close, 0.0) - cost[:, :width], 0.0)
    open_pnl = moved.sum(axis=1) + running(fixed).sum(axis=1)
    exposed = running(np.ones(len(trades))).sum(axis=1) > 0.5
    return marks.close_ts.astype(np.int64), np.cumsum(realized[:n]), open_pnl, exposed


def _max_drawdown(ts: np.ndarray, equity: np.ndarray, capital: float) -> Drawdown:
    if not len(equity):
        return Drawdown()
    with_start = np.concatenate([[capital], equity])
    peak = np.maximum.accumulate(with_start)
    trough = int(np.argmin(with_start - peak))
    if with_start[trough] >= peak[trough]:
        return Drawdown()
    top = int(np.argmax(with_start[: trough + 1]))
    times = np.concatenate([[ts[0]], ts])  # the start counts as the first point's time
    back = np.flatnonzero(with_start[trough:] >= with_start[top])
    recovery = None if not len(back) else int(times[trough + back[0]])
    return Drawdown(
        amount=float(with_start[top] - with_start[trough]),
        pct=float(100.0 * (with_start[top] - with_start[trough]) / with_start[top]),
        start_ts=int(times[top]),
        trough_ts=int(times[trough]),
        recovery_ts=recovery,
        recovery_seconds=None if recovery is None else recovery - int(times[top]),
    )


def _daily(perf: Performance, ts: np.ndarray, equity: np.ndarray, closed: list[Trade]) -> None:
    if not len(ts):
        return
    days = np.array([ist_day(int(t)) for t in ts])
    last = np.flatnonzero(np.append(days[1:] != days[:-1], True))  # each day's last point
    ends = equity[last]
    before = np.concatenate([[perf.capital], ends[:-1]])
    exits: dict[str, int] = {}
    for t in closed:
        exits[ist_day(t.exit_ts or 0)] = exits.get(ist_day(t.exit_ts or 0), 0) + 1
    perf.daily = [
        DayPnl(
            day=str(days[i]),
            pnl=float(e - b),
            ret=float(e / b - 1.0),
            trades=exits.get(str(days[i]), 0),
            equity=float(e),
        )
        for i, e, b in zip(last, ends, before, strict=True)
    ]
    perf.sessions = len(perf.daily)


def _ratios(perf: Performance) -> None:
    """Sharpe, Sortino, CAGR and Calmar from the daily returns (empyrical, 250 sessions a year)."""
    returns = np.array([d.ret for d in perf.daily])
    why = "no trades" if not perf.trades and not perf.open_trades else None
    if why is None and len(returns) < 2:
        why = "one day" if len(returns) == 1 else "no days"
    if why is None and returns.std() == 0:
        why = "no day's PnL differs from another's"
    if why:
        for name in ("sharpe", "sortino", "cagr", "calmar"):
            perf.unavailable[name] = why
        return
    import empyrical  # ~0.9 s to import (scipy.stats, pandas' datareader shims): not at every start

    perf.sharpe = float(empyrical.sharpe_ratio(returns, annualization=SESSIONS_PER_YEAR))
    if (returns < 0).any():
        perf.sortino = float(empyrical.sortino_ratio(returns, annualization=SESSIONS_PER_YEAR))
    else:
        perf.unavailable["sortino"] = "no losing day"
    if len(returns) < SESSIONS_PER_YEAR:
        perf.unavailable["cagr"] = perf.unavailable["calmar"] = f"{len(returns)} sessions: less than a year"
        return
    perf.cagr = float(empyrical.cagr(returns, annualization=SESSIONS_PER_YEAR))
    if perf.max_drawdown.amount > 0:
        perf.calmar = float(empyrical.calmar_ratio(returns, annualization=SESSIONS_PER_YEAR))
    else:
        perf.unavailable["calmar"] = "no drawdown"
