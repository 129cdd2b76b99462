"""The figures of a forecast evaluation: what app.predictor.evaluation computes, the backtest
prints and the REST answer carries (docs/predictor.md defines each). Free of scipy, so the
server's start-up does not import it."""

from __future__ import annotations

from dataclasses import dataclass

DECILES = 10


@dataclass(frozen=True, slots=True)
class Decile:
    """Predictions in one decile of pred_ret_adj (1: lowest) and how they turned out."""

    decile: int
    n: int
    mean_pred: float
    mean_actual: float
    hit_rate: float


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Every figure of one (interval, model, horizon); None where there is too little to compute it."""

    interval: str
    model_kind: str
    horizon_steps: int
    n: int
    anchors: int
    ic_anchors: int
    ic_mean: float | None
    ic_std: float | None
    ic_ir: float | None
    rank_ic_mean: float | None
    rank_ic_std: float | None
    rank_ic_ir: float | None
    pooled_ic: float | None
    pooled_rank_ic: float | None
    dm_sq_stat: float | None
    dm_sq_p: float | None
    dm_abs_stat: float | None
    dm_abs_p: float | None
    mase_zero: float | None
    mase_persistence: float | None
    long_short_anchors: int
    long_short_gross: float | None
    long_short_net: float | None
    deciles: list[Decile]
