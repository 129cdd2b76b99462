"""Forecasting models: each predicts the log return over every horizon for all instruments at once."""

from __future__ import annotations

from typing import Protocol

import numpy as np
import numpy.typing as npt

from app.predictor.errors import UnknownModel
from app.predictor.features import N_FEATURES, Array, FeatureState

Horizons = npt.NDArray[np.int64]


class Model(Protocol):
    """`predict` returns pred_ret with shape (len(horizons), n). It sees only the past."""

    kind: str

    def predict(self, features: Array, horizons: Horizons, state: FeatureState) -> Array: ...


class ZeroReturn:
    """The baseline: tomorrow looks like today. Calibration alone moves it (to the mean drift)."""

    kind = "zero"

    def predict(self, features: Array, horizons: Horizons, state: FeatureState) -> Array:
        return np.zeros((len(horizons), features.shape[0]))


class EwmaMomentum:
    """The recent drift continues: h times the fast EWMA of one-bar log returns."""

    kind = "ewma"

    def predict(self, features: Array, horizons: Horizons, state: FeatureState) -> Array:
        from app.predictor.kernels import ewma_predict

        out = np.empty((len(horizons), features.shape[0]))
        ewma_predict(features, horizons, out)
        return out


class RollingRidge:
    """Ridge regression per instrument and horizon on the features, over a rolling window.

    The sample for horizon h whose features were seen at anchor t has the target
    ln(close[t+h] / close[t]); it enters the window at anchor t+h, when that close is known,
    and leaves `window` anchors later. The window is kept as running sums, brought up to date
    at each solve (add the samples that entered since, subtract those that left), so a solve
    costs the same whenever it happens: no look-ahead, and no latency spikes in a live cycle.
    The arithmetic is app.predictor.kernels.ridge_predict.

    :param window: samples per instrument and horizon; must leave room in the FeatureState
        history for the longest horizon (window + h < history window).
    :param refit_every: anchors between solves.
    :param alpha: L2 penalty on the standardised features.
    :param min_samples: samples an instrument needs before its coefficients are used.
    """

    kind = "ridge"

    def __init__(
        self, *, window: int = 1500, refit_every: int = 10, alpha: float = 10.0, min_samples: int = 60
    ) -> None:
        self.window = window
        self.refit_every = refit_every
        self.alpha = alpha
        self.min_samples = min_samples
        self.sums: tuple[Array, Array, Array, Array, Array] | None = None  # count, x, y, x x^T, x y
        self.coef = np.zeros((0, 0, N_FEATURES + 1))  # (H, n, F + 1), last column the intercept
        self.counters = np.zeros(3, dtype=np.int64)  # anchors seen, anchors caught up, solved once

    @property
    def params(self) -> tuple[float, float, float, float]:
        return (float(self.window), float(self.refit_every), self.alpha, float(self.min_samples))

    def prepare(self, horizons: Horizons, state: FeatureState) -> None:
        """Allocate the window sums on first use; ValueError if the history is too short for them."""
        if self.sums is not None:
            return
        if self.window + int(horizons.max()) + self.refit_every >= state.window:
            raise ValueError(
                f"ridge window {self.window} + horizon + refit_every exceeds the feature history {state.window}"
            )
        h, n = len(horizons), state.n
        self.sums = (
            np.zeros((h, n)),
            np.zeros((h, n, N_FEATURES)),
            np.zeros((h, n)),
            np.zeros((h, n, N_FEATURES, N_FEATURES)),
            np.zeros((h, n, N_FEATURES)),
        )
        self.coef = np.zeros((h, n, N_FEATURES + 1))

    def predict(self, features: Array, horizons: Horizons, state: FeatureState) -> Array:
        from app.predictor.kernels import ridge_predict

        self.prepare(horizons, state)
        out = np.empty((len(horizons), features.shape[0]))
        history = (state.feature_history, state.close_history)
        ridge_predict(features, horizons, history, state.count, self.sums, self.coef, self.counters, self.params, out)
        return out


MODEL_KINDS = ("zero", "ewma", "ridge")


def make_model(kind: str) -> Model:
    """A fresh model of a built-in kind."""
    if kind == "zero":
        return ZeroReturn()
    if kind == "ewma":
        return EwmaMomentum()
    if kind == "ridge":
        return RollingRidge()
    raise UnknownModel(kind, MODEL_KINDS)
