"""The training work itself, as it runs in a worker process: dataset, walk-forward folds, the
final fit, the artifact. Imported by the worker forkserver at start (with LightGBM and
scikit-learn), so a training job's process starts in milliseconds.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Protocol

import lightgbm  # noqa: F401  (preloaded into the forkserver)
import numpy as np
import sklearn.linear_model  # noqa: F401  (preloaded into the forkserver)

from app.predictor.features import Array
from app.training.dataset import Dataset, build_dataset, check_enough, walk_forward
from app.training.estimators import Checker, Estimator, LgbmEstimator, RidgeEstimator
from app.training.request import TrainRequest


class Reporting(Checker, Protocol):
    def progress(self, fraction: float, message: str = "", metrics: dict[str, Any] | None = None) -> None: ...


def make_estimator(kind: str, params: dict[str, Any]) -> Estimator:
    horizons = params["horizons"]
    if kind == "ridge":
        return RidgeEstimator(horizons, alpha=params["alpha"])
    if kind == "lgbm":
        lgb_params = {
            "objective": {"l1": "regression_l1", "l2": "regression", "huber": "huber"}[params["objective"]],
            "learning_rate": params["learning_rate"],
            "num_leaves": params["num_leaves"],
            "min_child_samples": params["min_child_samples"],
            "num_threads": params["num_threads"],
        }
        return LgbmEstimator(horizons, params=lgb_params, rounds=params["n_estimators"])
    raise ValueError(f"unknown training kind {kind!r}")


def score(y: Array, pred: Array, horizons: tuple[int, ...]) -> dict[str, Any]:
    """Validation metrics, per horizon and averaged over horizons.

    val_mae: mean |actual - predicted|; baseline_mae: the zero-return model's, mean |actual|;
    mae_ratio: val_mae / baseline_mae (< 1 beats the baseline); hit_rate: share with
    sign(predicted) == sign(actual); baseline_hit_rate: the zero model's (share of zero returns).
    """
    by_horizon: dict[str, dict[str, float]] = {}
    for k, h in enumerate(horizons):
        actual, p = y[:, k], pred[:, k]
        mae = float(np.mean(np.abs(actual - p)))
        base = float(np.mean(np.abs(actual)))
        by_horizon[str(h)] = {
            "val_mae": mae,
            "baseline_mae": base,
            # Constant prices (baseline MAE 0): nothing can beat the baseline; >= 1 and finite for JSON.
            "mae_ratio": mae / base if base > 0 else 1.0 + mae,
            "hit_rate": float(np.mean(np.sign(p) == np.sign(actual))),
            "baseline_hit_rate": float(np.mean(actual == 0)),
        }
    names = ("val_mae", "baseline_mae", "mae_ratio", "hit_rate", "baseline_hit_rate")
    overall: dict[str, Any] = {n: float(np.mean([m[n] for m in by_horizon.values()])) for n in names}
    return {**overall, "samples": int(len(y)), "by_horizon": by_horizon}


def train_in_worker(request: TrainRequest, reporter: Reporting) -> dict[str, Any]:
    """Walk-forward validate, then fit on everything and save; progress after each fold."""
    started = time.perf_counter()
    params = request.params
    folds = params["folds"]
    data: Dataset = build_dataset(request.ts, request.close, params["horizons"])
    check_enough(data, folds, params["instrument_key"], params["interval"])
    embargo = max(data.horizons)
    steps = folds + 1
    reporter.progress(0.0, f"{data.samples} samples, {folds} folds", {"samples": data.samples, "folds": folds})

    pred = np.full_like(data.y, np.nan)
    for k, (train, val) in enumerate(walk_forward(data.samples, folds, embargo)):
        model = make_estimator(request.kind, params)
        model.fit(data.x[train], data.y[train], reporter)
        pred[val] = model.predict(data.x[val])
        fold = score(data.y[val], pred[val], data.horizons)
        metrics = {"fold": k + 1, "folds": folds, "train_samples": train.stop - train.start, **fold}
        reporter.progress(
            (k + 1) / steps,
            f"fold {k + 1}/{folds}: MAE {fold['val_mae']:.3g} vs baseline {fold['baseline_mae']:.3g}",
            metrics,
        )
    validated = np.isfinite(pred).all(axis=1)
    metrics = score(data.y[validated], pred[validated], data.horizons)
    metrics["folds"] = folds

    final = make_estimator(request.kind, params)
    final.fit(data.x, data.y, reporter)
    directory = Path(request.artifact_dir)
    directory.mkdir(parents=True, exist_ok=True)
    final.save(directory)
    seconds = time.perf_counter() - started
    reporter.progress(1.0, f"fitted on all {data.samples} samples in {seconds:.1f} s", metrics)
    return {
        "metrics": metrics,
        "samples": data.samples,
        "horizons": list(data.horizons),
        "trained_from": int(request.ts[0]),
        "trained_to": int(request.ts[-1]),
        "fit_seconds": round(seconds, 3),
    }
