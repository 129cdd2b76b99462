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
from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.market.bars import BarSet
from app.market.calendar import BarClock
from app.market.intervals import Interval
from app.predictor.calibration import Calibration, Mask, summarise
from app.predictor.features import Array, FeatureState
from app.predictor.models import Model

Ids = npt.NDArray[np.int64]


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

    def _resolve(self, bars: BarSet, cycle: Cycle) -> None:
        close = bars.close
        has_close = np.isfinite(close)
        for k, queue in enumerate(self.pending):
            while queue and queue[0].ts_target <= bars.close_ts:
                block = queue.popleft()
                on_target = block.ts_target == bars.close_ts
                ok = block.made & has_close if on_target else np.zeros_like(block.made)
                with np.errstate(divide="ignore", invalid="ignore"):
                    actual = np.where(ok, np.log(close / block.close_pred), 0.0)
                error = actual - block.pred_ret_adj
                hit = np.sign(actual) == np.sign(block.pred_ret_adj)
                self.calibration.update(k, ok, actual - block.pred_ret, error, hit)
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
