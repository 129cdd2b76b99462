"""Training samples: the live predictor's features, no look-ahead, walk-forward folds."""

from __future__ import annotations

import numpy as np
import pytest

from app.predictor.features import FeatureState, feature_matrix
from app.training.dataset import WARMUP, build_dataset, check_enough, walk_forward
from app.training.errors import TooLittleData


def closes(n: int, seed: int = 1) -> np.ndarray:
    return 100 * np.exp(np.cumsum(np.random.default_rng(seed).normal(0, 0.01, n)))


def test_feature_matrix_is_what_the_feature_state_gives() -> None:
    c = closes(400)
    c[[0, 5, 6, 7, 300]] = np.nan
    state = FeatureState(1, window=16)
    stepped = np.array([state.update(np.array([x]))[0] for x in c])
    np.testing.assert_allclose(feature_matrix(c), stepped, rtol=1e-10, atol=1e-15)


def test_no_look_ahead_and_targets() -> None:
    c = closes(500)
    data = build_dataset(np.arange(500) * 60, c, (1, 5))
    changed = c.copy()
    changed[300:] *= 1.5
    other = build_dataset(np.arange(500) * 60, changed, (1, 5))
    rows = data.ts // 60
    np.testing.assert_array_equal(data.x[rows < 300], other.x[rows < 300])  # features at t use closes <= t only
    t = int(rows[0])
    assert t == WARMUP and rows[-1] == 500 - 5 - 1
    assert data.y[0, 1] == pytest.approx(np.log(c[t + 5] / c[t]))


def test_walk_forward_validates_after_training_with_an_embargo() -> None:
    folds = list(walk_forward(1200, 5, 5))
    assert len(folds) == 5
    for train, val in folds:
        assert train.start == 0 and train.stop == val.start - 5
    assert folds[-1][1].stop == 1200 and all(a[1].stop == b[1].start for a, b in zip(folds, folds[1:], strict=False))


def test_too_little_data_says_how_much_is_needed() -> None:
    data = build_dataset(np.arange(400) * 60, closes(400), (1, 5))
    with pytest.raises(
        TooLittleData, match=r"too little data: 365 usable samples of 1m candles for NSE_EQ\|X, 1230 needed"
    ):
        check_enough(data, 5, "NSE_EQ|X", "1m")
