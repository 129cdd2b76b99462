"""Training samples from one instrument's candles, and walk-forward folds over them.

Features are the live predictor's (`app.predictor.features.feature_matrix`, the same rows a
FeatureState gives), so a trained model sees at prediction time exactly what it was trained
on. Row t uses closes up to t only; its target for horizon h is ln(close[t+h] / close[t]),
the h-step forward log return (steps are the stored bars, as the live predictor steps bars
in trading time). The first WARMUP rows (the EWMAs settling) and the last max(h) rows (no
target yet) are left out.

Walk-forward: the samples are cut into folds + 1 consecutive blocks; fold k trains on every
sample before block k (less an embargo of max(h) samples, whose targets would reach into the
validation block) and validates on block k. Each validation block is strictly later than
everything its model was trained on.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from app.predictor.features import FEATURE_NAMES, Array, feature_matrix
from app.training.errors import TooLittleData

WARMUP = 30
MIN_TRAIN = 200  # samples the first fold trains on, at least
MIN_VALIDATION = 50  # samples per validation block, at least

FEATURE_SPEC: dict[str, object] = {
    "names": list(FEATURE_NAMES),
    "fast_span": 5,
    "slow_span": 30,
    "vol_span": 30,
    "target": "ln(close[t+h]/close[t])",
}
FEATURE_SPEC_HASH = hashlib.sha256(json.dumps(FEATURE_SPEC, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Dataset:
    """Samples (n, F), targets (n, H) for `horizons`, and each sample's bar open time."""

    x: Array
    y: Array
    ts: npt.NDArray[np.int64]
    horizons: tuple[int, ...]

    @property
    def samples(self) -> int:
        return len(self.x)


def build_dataset(ts: npt.ArrayLike, close: npt.ArrayLike, horizons: Sequence[int]) -> Dataset:
    stamps = np.asarray(ts, dtype=np.int64)
    closes = np.asarray(close, dtype=np.float64)
    hs = tuple(int(h) for h in horizons)
    features = feature_matrix(closes)
    reach = max(hs)
    rows = np.arange(WARMUP, max(WARMUP, len(closes) - reach))
    with np.errstate(divide="ignore", invalid="ignore"):
        y = (
            np.stack([np.log(closes[rows + h] / closes[rows]) for h in hs], axis=1)
            if len(rows)
            else np.empty((0, len(hs)))
        )
    usable = np.isfinite(y).all(axis=1) & np.isfinite(features[rows]).all(axis=1)
    rows = rows[usable]
    return Dataset(features[rows], y[usable], stamps[rows], hs)


def samples_needed(folds: int, embargo: int) -> int:
    """Samples for `folds` folds whose first trains on MIN_TRAIN (after the embargo)."""
    return (folds + 1) * max(MIN_TRAIN + embargo, MIN_VALIDATION)


def walk_forward(n: int, folds: int, embargo: int) -> Iterator[tuple[slice, slice]]:
    """(train, validation) index slices of each fold, oldest first."""
    edges = np.linspace(0, n, folds + 2).astype(int)
    for k in range(1, folds + 1):
        start, end = int(edges[k]), int(edges[k + 1])
        yield slice(0, max(0, start - embargo)), slice(start, end)


def check_enough(data: Dataset, folds: int, instrument_key: str, interval: str) -> None:
    """TooLittleData unless the first fold trains on MIN_TRAIN samples (so every later one does)."""
    needed = samples_needed(folds, max(data.horizons))
    if data.samples < needed:
        raise TooLittleData(instrument_key, interval, data.samples, needed, folds)
