"""The predictor core: one anchor (bar close) at a time, every instrument at once.

At each anchor the core first resolves the predictions whose target is this anchor, folding
their outcome into the calibration, then updates features with this anchor's closes and makes
new predictions for every model and horizon. It knows nothing of events, storage or clocks
beyond a BarClock: the live service and the backtest both drive this same code.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal, Protocol

import numpy as np
import numpy.typing as npt

from app.market.bars import BarSet
from app.market.calendar import BarClock
from app.market.intervals import Interval
from app.predictor.calibration import SUMS, Calibration, Mask, summarise
from app.predictor.features import N_FEATURES, Array, FeatureState
from app.predictor.models import Model, RollingRidge

Ids = npt.NDArray[np.int64]

SCORE_ROWS = ("n", "hits_raw", "hits_adj", "abs_raw", "abs_adj", "sum_raw", "sum_adj")
"""Sums over resolved predictions that a backtest scores: count, sign hits, |residual|, residual,
raw (actual_ret - pred_ret) and adj (error = actual_ret - pred_ret_adj)."""


@dataclass(frozen=True, slots=True, eq=False)
class Block:
    """Predictions of every model for one horizon, made at one anchor.

    Per-instrument arrays have shape (n,); per-model ones (models, n), rows in the order of
    `model_kinds`. `made` marks the instruments that got a prediction (a close and history).
    """

    model_kinds: tuple[str, ...]
    horizon: int
    ts_pred: int
    ts_target: int
    made: Mask
    close_pred: Array
    ids: Ids
    pred_ret: Array
    pred_ret_adj: Array
    calib_bias: Array
    promoted_kinds: npt.NDArray[np.object_] | None = None  # model row 0 per instrument, when promoted

    def model_kind(self, m: int, i: int) -> str:
        """The model_kind of row `m` for instrument `i` (a promoted model's, where one is in use)."""
        if m == 0 and self.promoted_kinds is not None:
            return str(self.promoted_kinds[i])
        return self.model_kinds[m]


@dataclass(frozen=True, slots=True, eq=False)
class Resolution:
    """How a Block turned out at its target anchor. `ok`: resolved; `expired`: no close to resolve with.

    `actual_ret` is per instrument; `error` and `calibration` (the state after this
    resolution) are per model and instrument.
    """

    block: Block
    ok: Mask
    expired: Mask
    actual_ret: Array
    error: Array
    calibration_n: Ids
    calibration_sums: Array

    @property
    def calibration(self) -> dict[str, Array]:
        return summarise(self.calibration_n, self.calibration_sums)


@dataclass(slots=True)
class Cycle:
    anchor: int
    created: list[Block] = field(default_factory=list)
    resolved: list[Resolution] = field(default_factory=list)

    @property
    def created_count(self) -> int:
        return sum(int(b.made.sum()) * len(b.model_kinds) for b in self.created)

    @property
    def resolved_count(self) -> int:
        return sum(int(r.ok.sum()) * len(r.block.model_kinds) for r in self.resolved)


@dataclass(frozen=True, slots=True, eq=False)
class History:
    """What `PredictorCore.replay` did over T anchors, for every instrument, horizon and model.

    At the anchor a prediction is made (row t): `made` (T, n), `pred_ret` and `calib_bias`
    (T, H, M, n). At the anchor it resolves (row t + h): `ok`, `actual_ret` (T, H, n), `error`
    and the calibration after it, `calibration_n` (T, H, M, n) and `calibration_sums`
    (T, H, 5, M, n). Per-anchor arrays are empty (length 0) unless the replay recorded them;
    `scores` (per horizon, rows of SCORE_ROWS x models) and `ups`/`outcomes` always
    hold the sums over every resolved prediction; row k of each is `horizons[k]`.
    """

    horizons: tuple[int, ...]
    made: Mask
    pred_ret: Array
    calib_bias: Array
    ok: Mask
    actual_ret: Array
    error: Array
    calibration_n: Ids
    calibration_sums: Array
    scores: Array
    ups: int
    outcomes: int

    @property
    def pred_ret_adj(self) -> Array:
        adj: Array = self.pred_ret + self.calib_bias
        return adj


class PromotedModel(Protocol):
    """A trained model that replaces model row 0 for one instrument on the horizons it covers."""

    @property
    def model_kind(self) -> str: ...

    @property
    def horizons(self) -> tuple[int, ...]: ...

    def predict(self, features: Array) -> Array:
        """Feature rows (k, F) -> predicted log returns (len(horizons), k)."""
        ...


class PredictorCore:
    """Vectorised predict -> resolve -> calibrate over `instruments` for one interval.

    :param horizons: bars ahead to predict (horizon_steps), e.g. (1, 5).
    :param models: one or more models; each gets its own predictions and calibration.
    :param clock: where bar closes fall (NSE calendar live, the data's own bars in backtests).
    :param calib_halflife: resolutions after which an outcome's weight in the calibration halves.
    :param window: anchors of history kept for learned models.
    :param min_history: one-bar returns an instrument needs before it gets predictions.
    :param first_id: the id of the first prediction made.
    """

    def __init__(
        self,
        instruments: Sequence[str],
        interval: Interval,
        *,
        horizons: Sequence[int],
        models: Sequence[Model],
        clock: BarClock,
        calib_halflife: float = 100.0,
        window: int = 2000,
        min_history: int = 3,
        first_id: int = 1,
    ) -> None:
        self.instruments = tuple(instruments)
        self.interval = interval
        self.horizons = np.asarray(horizons, dtype=np.int64)
        self.models = list(models)
        self.model_kinds = tuple(m.kind for m in self.models)
        self.clock = clock
        self.min_history = min_history
        self.next_id = first_id
        n = len(self.instruments)
        self.features = FeatureState(n, window=window)
        self.calibration = Calibration(len(self.models), len(self.horizons), n, halflife=calib_halflife)
        self.pending: list[deque[Block]] = [deque() for _ in self.horizons]
        self._index = {key: i for i, key in enumerate(self.instruments)}
        self.promoted: dict[int, PromotedModel] = {}
        self._promoted_kinds: list[npt.NDArray[np.object_]] | None = None  # per horizon; replaced, never mutated

    def use_promoted(self, models: Mapping[str, PromotedModel]) -> None:
        """Predict these instruments with their promoted model from the next anchor on.

        Where an instrument's model changes, its calibration for that horizon starts afresh:
        the bias a model learned says nothing about the next one.
        """
        chosen = {self._index[key]: m for key, m in models.items() if key in self._index}
        n = len(self.instruments)
        previous = self._promoted_kinds
        kinds = []
        for k, h in enumerate(self.horizons):
            row = np.full(n, self.model_kinds[0], dtype=object)
            for i, model in chosen.items():
                if int(h) in model.horizons:
                    row[i] = model.model_kind
            old = previous[k] if previous is not None else np.full(n, self.model_kinds[0], dtype=object)
            for j in np.flatnonzero(row != old):
                self.calibration.reset(0, k, int(j))
            kinds.append(row)
        self.promoted = chosen
        self._promoted_kinds = kinds if chosen else None

    def add_pending(self, block: Block) -> None:
        """Queue a block made earlier (loaded after a restart) for resolution, in target order."""
        queue = self.pending[int(np.flatnonzero(self.horizons == block.horizon)[0])]
        position = sum(1 for b in queue if b.ts_target <= block.ts_target)
        queue.insert(position, block)

    def step(self, bars: BarSet) -> Cycle:
        if bars.instruments != self.instruments:
            raise ValueError("BarSet instruments differ from the predictor's")
        cycle = Cycle(bars.close_ts)
        self._resolve(bars, cycle)
        features = self.features.update(bars.close)
        self._predict(bars, features, cycle)
        return cycle

    def replay(self, close: Array, *, record: bool | Literal["outcomes"] = False) -> History:
        """Run every row of `close` (T, n) through the core as `step` would, in one compiled loop
        (app.predictor.kernels.run_history): the same kernels, so the same numbers.

        The clock must be the data's own (ObservedCalendar over these rows): a prediction made
        at row t targets row t + h. The core keeps its state afterwards (features, model,
        calibration) but not the blocks still in flight; it must have none pending, and no
        promoted models (those are Python objects, called per anchor live).
        :param record: keep the per-anchor arrays of History (memory: ~T x H x M x n x 100 bytes);
            "outcomes": only what a forecast evaluation reads (made, pred_ret, calib_bias, ok,
            actual_ret: ~T x H x M x n x 20 bytes), the other per-anchor arrays left empty.
        """
        from app.predictor import kernels

        if any(self.pending) or self.promoted:
            raise ValueError("replay needs a core without pending blocks or promoted models")
        codes = np.array([kernels.MODEL_CODES[kind] for kind in self.model_kinds], dtype=np.int64)
        ridges = [m for m in self.models if isinstance(m, RollingRidge)]
        if len(ridges) != int((codes == kernels.RIDGE).sum()) or len(ridges) > 1 or len(set(codes)) < len(codes):
            raise ValueError("replay runs the built-in models, at most one of each kind")
        close = np.ascontiguousarray(close, dtype=np.float64)
        steps, n = close.shape
        h, m = len(self.horizons), len(self.models)
        if ridges:
            ridges[0].prepare(self.horizons, self.features)
        ridge = ridges[0] if ridges else RollingRidge()
        ridge_state = (ridge.sums or _empty_sums(), ridge.coef, ridge.counters, ridge.params)
        fs = self.features
        count = np.array([fs.count], dtype=np.int64)
        features = (fs.last_close, fs.rets, fs.ewm, fs.alphas, fs.seen, fs.feature_history, fs.close_history, count)
        calibration = (self.calibration.n, self.calibration.sums, self.calibration.decay)
        scores, tally = np.zeros((h, len(SCORE_ROWS), m)), np.zeros(2, dtype=np.int64)
        t = steps if record else 0
        full = steps if record is True else 0
        rec = (
            np.zeros((t, n), dtype=np.bool_),
            np.zeros((t, h, m, n)),
            np.zeros((t, h, m, n)),
            np.zeros((t, h, n), dtype=np.bool_),
            np.zeros((t, h, n)),
            np.zeros((full, h, m, n)),
            np.zeros((full, h, m, n), dtype=np.int64),
            np.zeros((full, h, len(SUMS), m, n)),
        )
        kernels.run_history(
            close, self.horizons, codes, self.min_history, features, ridge_state, calibration, (scores, tally), rec
        )
        fs.count = int(count[0])
        return History(
            tuple(int(x) for x in self.horizons), *rec, scores=scores, ups=int(tally[0]), outcomes=int(tally[1])
        )

    def _resolve(self, bars: BarSet, cycle: Cycle) -> None:
        for k, queue in enumerate(self.pending):
            while queue and queue[0].ts_target <= bars.close_ts:
                block = queue.popleft()
                arrays = (block.made, block.close_pred, block.pred_ret, block.pred_ret_adj)
                ok, actual, error = self.calibration.resolve(k, bars.close, arrays, block.ts_target == bars.close_ts)
                n, sums = self.calibration.snapshot(k)
                cycle.resolved.append(Resolution(block, ok, block.made & ~ok, actual, error, n, sums))

    def _predict(self, bars: BarSet, features: Array, cycle: Cycle) -> None:
        made = np.isfinite(bars.close) & (self.features.seen >= self.min_history)
        count = int(made.sum())
        models = len(self.models)
        preds = np.stack([model.predict(features, self.horizons, self.features) for model in self.models], axis=1)
        for i, model in self.promoted.items():
            own = model.predict(features[i : i + 1])[:, 0]
            for k, h in enumerate(self.horizons):
                if int(h) in model.horizons:
                    preds[k, 0, i] = own[model.horizons.index(int(h))]
        for k, h in enumerate(self.horizons):
            ids = np.full((models, len(made)), -1, dtype=np.int64)
            ids[:, made] = np.arange(self.next_id, self.next_id + models * count).reshape(models, count)
            self.next_id += models * count
            bias = self.calibration.bias(k)
            block = Block(
                self.model_kinds,
                int(h),
                bars.close_ts,
                self.clock.shift(self.interval, bars.close_ts, int(h)),
                made,
                bars.close,
                ids,
                preds[k],
                preds[k] + bias,
                bias,
                self._promoted_kinds[k] if self._promoted_kinds is not None else None,
            )
            self.pending[k].append(block)
            cycle.created.append(block)


def _empty_sums() -> tuple[Array, Array, Array, Array, Array]:
    """Window sums for no horizon and instrument: what replay passes when no model is a ridge."""
    return (
        np.zeros((0, 0)),
        np.zeros((0, 0, N_FEATURES)),
        np.zeros((0, 0)),
        np.zeros((0, 0, N_FEATURES, N_FEATURES)),
        np.zeros((0, 0, N_FEATURES)),
    )
