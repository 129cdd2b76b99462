"""A registered model loaded from its artifact, ready to predict."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.predictor.features import N_FEATURES, Array
from app.training.estimators import LgbmEstimator, RidgeEstimator, load_estimator


@dataclass(frozen=True, slots=True, eq=False)
class LoadedModel:
    """A promoted model for one (instrument, interval).

    `predict(features)` takes feature rows (k, F) as app.predictor.features computes them
    (FeatureState.update rows of this instrument) and returns predicted log returns (H, k),
    one row per horizon in `horizons`. Pure numpy/LightGBM, single-threaded: call it off the
    event loop (the predictor's core already runs in a worker thread).
    """

    model_id: str
    kind: str
    instrument_key: str
    interval: str
    horizons: tuple[int, ...]
    feature_spec: str
    estimator: RidgeEstimator | LgbmEstimator

    @property
    def model_kind(self) -> str:
        """What the predictor reports as `model_kind`, e.g. `lgbm:3f9c2a1b0d4e`."""
        return f"{self.kind}:{self.model_id}"

    def predict(self, features: Array) -> Array:
        x = np.asarray(features, dtype=np.float64)
        if x.ndim != 2 or x.shape[1] != N_FEATURES:
            raise ValueError(f"features must have shape (k, {N_FEATURES}), got {x.shape}")
        if len(x) == 0:
            return np.zeros((len(self.horizons), 0))
        out: Array = np.ascontiguousarray(self.estimator.predict(x).T)
        return out


def load_model(
    directory: Path, *, model_id: str, kind: str, instrument_key: str, interval: str, feature_spec: str
) -> LoadedModel:
    estimator = load_estimator(directory)
    return LoadedModel(model_id, kind, instrument_key, interval, estimator.horizons, feature_spec, estimator)
