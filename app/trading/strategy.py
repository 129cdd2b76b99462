"""The strategy: which predictions become entries, how big, where the stop and target sit,
and when a trade is closed. Pure decisions; the engine does the acting.

Entry (per `prediction.created`, the event itself: `PredictionCreated`):
- the horizon is one the strategy trades (`horizons`, empty: any);
- the calibration of that instrument/interval/horizon (from the latest `prediction.resolved`)
  has at least `min_calibration_n` resolutions and a `hit_rate` of at least `min_hit_rate`
  (the floor), and the pair's record shows skill chance would rarely produce: its
  `SkillState` (app.predictor.skill: a one-sided binomial test of its calibrated hits over a
  rolling window, against chance, at `skill.alpha`) is SKILLED; UNTESTED skips as
  `skill_untested`, NO_SKILL as `no_skill`;
- `pred_ret_adj` points up (long) or down (short, when `allow_short`), and at the next price
  its size clears `cost_multiple` x the round-trip cost of the sized position (every charge of
  the cost model, plus the paper broker's slippage on both sides). A prediction below
  `cost_multiple` x the least round-trip cost any size could have (`CostModel.floor_fraction`)
  is skipped as `below_costs` at once: it could neither enter nor reverse a trade.
The signal is acted on at the next price update (a bar whose open is at or after the
prediction's ts_pred): the entry fills at that bar's open. A signal whose target time has come
by then is dropped; a newer or stronger one for the same instrument replaces it.

Sizing: the stop sits `stop_vol` x sigma x sqrt(horizon) x price from the entry (sigma: the
EWMA volatility of one-bar returns, at least two ticks away); qty = risk_per_trade / that
distance, at most max_notional_per_trade / price, rounded down to whole lots (none: skipped as
`lot_size`). The target sits `target_vol` x sigma x sqrt(horizon) x price away on the other
side. Stops and targets lie on the instrument's tick. Tick and lot come from the instrument
master (`TradingSpecs`); an instrument it does not hold trades on 0.05 in lots of 1.

Live, between bars, a tick at or beyond the stop (or target) closes the trade at once at the
tick's price (`crossed`; the engine does it, see its docstring).

Management, per bar, in this order: a pending signal exit fills at the open; the stop, then the
target, is checked against the bar's low/high (the stop wins when both were touched: we do not
know which came first); then at the close the square-off time (all trades) and each trade's
time limit (its prediction's ts_target); then the trailing stop moves to `trail_vol` x the
initial stop distance from the best close, only ever tighter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import numpy as np
import numpy.typing as npt
from mypy_extensions import mypyc_attr

from app.events import Calibration, PredictionCreated
from app.market.calendar import IST, IST_OFFSET
from app.market.instrument_master.specs import DEFAULT_SPEC, TradingSpecs
from app.predictor.skill import CODES, SkillConfig, SkillState
from app.trading.costs import CostModel
from app.trading.enums import ExitReason
from app.trading.native import Reduced, reduced
from app.trading.prices import Quote
from app.trading.risk import RiskLimits
from app.trading.trades import Trade


@dataclass(frozen=True, slots=True, kw_only=True)
class StrategyConfig:
    """:param min_calibration_n: resolutions the calibration needs before its predictions are traded.
    :param min_hit_rate: the calibration's EW hit rate must be at least this.
    :param cost_multiple: |pred_ret_adj| must be at least this x round-trip costs (fraction of notional).
    :param horizons: horizon_steps traded; empty: every horizon.
    :param stop_vol, target_vol: stop and target distance in sigma x sqrt(horizon).
    :param trail_vol: trailing distance as a multiple of the initial stop distance; 0: no trailing.
    :param allow_short: enter shorts on negative predictions.
    :param exit_on_reversal: close a trade when an opposite prediction would itself be an entry.
    :param square_off: exchange-local (IST) time at which every trade is closed and entries stop.
    :param slippage_bps: expected slippage per order, counted into the entry threshold.
    :param skill: the skill gate's test (significance, rolling window, minimum resolutions)."""

    min_calibration_n: int = 20
    min_hit_rate: float = 0.5
    cost_multiple: float = 1.0
    horizons: tuple[int, ...] = ()
    stop_vol: float = 1.5
    target_vol: float = 2.0
    trail_vol: float = 1.0
    allow_short: bool = True
    exit_on_reversal: bool = True
    square_off: time = time(15, 15)
    slippage_bps: float = 1.0
    skill: SkillConfig = SkillConfig()

    def __reduce__(self) -> Reduced:
        return reduced(self)  # pickled by its fields: compiled, a frozen class is not (app.trading.native)

    def __post_init__(self) -> None:
        if self.min_calibration_n < 0 or not 0 <= self.min_hit_rate <= 1:
            raise ValueError("min_calibration_n must be >= 0 and min_hit_rate in [0, 1]")
        if not (self.cost_multiple >= 0 and self.stop_vol > 0 and self.target_vol > 0 and self.trail_vol >= 0):
            raise ValueError("cost_multiple and trail_vol must be >= 0, stop_vol and target_vol > 0")


def direction(prediction: PredictionCreated) -> int:
    """+1 up (a long), -1 down (a short), 0 flat."""
    adj = prediction.pred_ret_adj
    return 1 if adj > 0 else -1 if adj < 0 else 0


@dataclass(frozen=True, slots=True)
class EntryPlan:
    """A sized entry: signed qty at `price`, with its stop and target distances (rupees/share)."""

    qty: int
    price: float
    stop_distance: float
    target_distance: float
    cost_fraction: float

    def __init__(
        self, qty: int, price: float, stop_distance: float, target_distance: float, cost_fraction: float
    ) -> None:
        # written out: compiled, the __init__ dataclasses generates runs interpreted (app.trading.native)
        object.__setattr__(self, "qty", qty)
        object.__setattr__(self, "price", price)
        object.__setattr__(self, "stop_distance", stop_distance)
        object.__setattr__(self, "target_distance", target_distance)
        object.__setattr__(self, "cost_fraction", cost_fraction)


@mypyc_attr(native_class=False)  # a str subclass: not a native class (app.trading.native)
class Skip(str):
    """Why a prediction or signal did not become an entry (a short reason, counted in the status)."""


REASONS = HORIZON, CALIBRATION_N, HIT_RATE, NO_SKILL, SKILL_UNTESTED, DIRECTION, BELOW_COSTS = tuple(
    Skip(r) for r in ("horizon", "calibration_n", "hit_rate", "no_skill", "skill_untested", "direction", "below_costs")
)
"""What `accepts` says, in the order it checks (`Strategy.judge` answers with the index)."""
ACCEPTED = -1


def on_tick(price: float) -> float:
    """`price` on the default tick (0.05: an instrument the master does not hold)."""
    return DEFAULT_SPEC.round(price)


class Strategy:
    """:param specs: tick and lot per instrument (default: 0.05 and 1 for all)."""

    def __init__(self, config: StrategyConfig, costs: CostModel, specs: TradingSpecs | None = None) -> None:
        self.config = config
        self.costs = costs
        self.specs = specs if specs is not None else TradingSpecs()
        # below this |pred_ret_adj| no size at any price clears the costs (a hair under the
        # exact floor, so that rounding in the sized cost can never make it the larger)
        floor = costs.floor_fraction() + 2 * config.slippage_bps / 10_000
        self.least_edge = config.cost_multiple * floor * (1 - 1e-9)
        self._square_off = seconds_of_day(config.square_off)

    def on_tick(self, instrument_key: str, price: float) -> float:
        """`price` on the instrument's tick."""
        return self.specs[instrument_key].round(price)

    def accepts(self, prediction: PredictionCreated, calibration: Calibration | None, skill: SkillState) -> Skip | None:
        """None when the prediction may become an entry signal; otherwise why not."""
        c = self.config
        if c.horizons and prediction.horizon_steps not in c.horizons:
            return HORIZON
        if calibration is None or calibration.n < c.min_calibration_n:
            return CALIBRATION_N
        if calibration.hit_rate < c.min_hit_rate:
            return HIT_RATE
        if c.skill.gate and skill is not SkillState.SKILLED:
            return NO_SKILL if skill is SkillState.NO_SKILL else SKILL_UNTESTED
        side = direction(prediction)
        if side == 0 or (side < 0 and not c.allow_short):
            return DIRECTION
        if abs(prediction.pred_ret_adj) < self.least_edge:
            return BELOW_COSTS
        return None

    def plan(
        self, prediction: PredictionCreated, price: float, sigma: float | None, limits: RiskLimits
    ) -> EntryPlan | Skip:
        """Size an entry at `price` or say why not (no volatility yet, too small, below costs)."""
        if sigma is None:
            return Skip("volatility_unknown")
        c = self.config
        spec = self.specs[prediction.instrument_key]
        scale = max(sigma, 1e-6) * math.sqrt(prediction.horizon_steps) * price
        stop_distance = max(c.stop_vol * scale, 2 * spec.tick)
        shares = min(
            math.floor(limits.risk_per_trade / stop_distance), math.floor(limits.max_notional_per_trade / price)
        )
        if shares < 1:
            return Skip("size")
        shares = spec.whole_lots(shares)
        if shares < 1:
            return Skip("lot_size")
        cost = self.costs.round_trip_fraction(shares, price) + 2 * c.slippage_bps / 10_000
        if abs(prediction.pred_ret_adj) < c.cost_multiple * cost:
            return Skip("below_costs")
        return EntryPlan(
            direction(prediction) * shares, price, stop_distance, max(c.target_vol * scale, 2 * spec.tick), cost
        )

    def judge(
        self,
        horizon: int,
        calibration_n: npt.NDArray[np.int64],
        hit_rate: npt.NDArray[np.float64],
        skill: npt.NDArray[np.int8],
        pred_ret_adj: npt.NDArray[np.float64],
    ) -> npt.NDArray[np.int8]:
        """`accepts` over columns: one pair's predictions (of `horizon`), each with the
        calibration it saw (n, -1 for none; its hit_rate) and its pair's skill then (`CODES`);
        per row the index in `REASONS` of why not, ACCEPTED (-1) where it may become a signal.
        The same rules in the same order (tests/trading/test_strategy.py holds them equal),
        for a backtest that judges a replay's record whole (app.trading.judged_replay)."""
        c = self.config
        side = (pred_ret_adj > 0).astype(np.int8) - (pred_ret_adj < 0)
        return np.select(
            [
                np.full(len(side), bool(c.horizons) and horizon not in c.horizons),
                (calibration_n < 0) | (calibration_n < c.min_calibration_n),
                hit_rate < c.min_hit_rate,
                np.full(len(side), c.skill.gate) & (skill == CODES[SkillState.NO_SKILL]),
                np.full(len(side), c.skill.gate) & (skill == CODES[SkillState.UNTESTED]),
                (side == 0) | ((side < 0) & (not c.allow_short)),
                np.abs(pred_ret_adj) < self.least_edge,
            ],
            np.arange(len(REASONS), dtype=np.int8),
            ACCEPTED,
        ).astype(np.int8)

    def reverses(self, trade: Trade, prediction: PredictionCreated, price: float) -> bool:
        """An opposite prediction the strategy accepts (`accepts`: it would itself be an entry)
        closes the trade when it clears the round-trip cost of the trade's size at `price`."""
        side = direction(prediction)
        if not self.config.exit_on_reversal or side == 0 or (side > 0) == trade.is_long:
            return False
        cost = self.costs.round_trip_fraction(abs(trade.open_qty), price) + 2 * self.config.slippage_bps / 10_000
        return abs(prediction.pred_ret_adj) >= self.config.cost_multiple * cost

    @staticmethod
    def touched(trade: Trade, quote: Quote) -> tuple[ExitReason, float] | None:
        """The stop or target the bar reached, and the price it fills at (the open when the bar
        gapped through the level). The stop wins when both were touched."""
        if trade.is_long:
            if quote.low <= trade.stop:
                return ExitReason.STOP, min(quote.open, trade.stop)
            if quote.high >= trade.target:
                return ExitReason.TARGET, max(quote.open, trade.target)
        else:
            if quote.high >= trade.stop:
                return ExitReason.STOP, max(quote.open, trade.stop)
            if quote.low <= trade.target:
                return ExitReason.TARGET, min(quote.open, trade.target)
        return None

    @staticmethod
    def crossed(trade: Trade, price: float) -> ExitReason | None:
        """The stop or target a trade price (a tick) is at or beyond, if any."""
        if trade.is_long:
            return ExitReason.STOP if price <= trade.stop else ExitReason.TARGET if price >= trade.target else None
        return ExitReason.STOP if price >= trade.stop else ExitReason.TARGET if price <= trade.target else None

    def trailed_stop(self, trade: Trade, close: float) -> float | None:
        """The new stop after this close, when it moves (by at least a tick, only tighter)."""
        if self.config.trail_vol <= 0:
            return None
        spec = self.specs[trade.instrument_key]
        if trade.is_long:
            trade.best = max(trade.best, close)
            stop = spec.round(trade.best - self.config.trail_vol * trade.stop_distance)
            return stop if stop >= trade.stop + spec.tick - 1e-9 else None
        trade.best = min(trade.best, close)
        stop = spec.round(trade.best + self.config.trail_vol * trade.stop_distance)
        return stop if stop <= trade.stop - spec.tick + 1e-9 else None

    def square_off_ts(self, ts: float) -> int:
        """The square-off moment of the exchange day `ts` falls on (UTC epoch seconds)."""
        return ist_day_number(ts) * 86_400 - IST_OFFSET + self._square_off


def square_off_ts(ts: float, at: time) -> int:
    """The moment `at` (IST) of the exchange day `ts` falls on (UTC epoch seconds)."""
    return ist_day_number(ts) * 86_400 - IST_OFFSET + seconds_of_day(at)


def seconds_of_day(at: time) -> int:
    return at.hour * 3600 + at.minute * 60 + at.second


def ist_day_number(ts: float) -> int:
    """The exchange (IST) day of `ts`, as days since 1970-01-01 (IST has no daylight saving)."""
    return int((ts + IST_OFFSET) // 86_400)


def ist_day(ts: float) -> str:
    """The exchange (IST) date of `ts`, ISO format."""
    number = ist_day_number(ts)
    day = _ISO_DAYS.get(number)
    if day is None:
        day = _ISO_DAYS[number] = (EPOCH + timedelta(days=number)).isoformat()
    return day


EPOCH = date(1970, 1, 1)
_ISO_DAYS: dict[int, str] = {}
"""Each day's ISO date once made (the engine asks at every bar and trade; a dict read compiled,
where `functools.lru_cache` is a Python call; a year adds 365 entries)."""


def next_day_start(ts: float) -> int:
    day = datetime.fromtimestamp(ts, IST).date() + timedelta(days=1)
    return int(datetime.combine(day, time(0, 0), IST).timestamp())
