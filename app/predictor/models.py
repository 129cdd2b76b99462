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
        return horizons[:, None].astype(np.float64) * features[None, :, 3]


class RollingRidge:
    """Ridge regression per instrument and horizon on the features, over a rolling window.

    The sample for horizon h whose features were seen at anchor t has the target
    ln(close[t+h] / close[t]); it enters the window at anchor t+h, when that close is known,
    and leaves `window` anchors later. The window is kept as running sums, brought up to date
    at each solve (add the samples that entered since, subtract those that left), so a solve
    costs the same whenever it happens: no look-ahead, and no latency spikes in a live cycle.

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
        self._sums: _WindowSums | None = None
        self._coef: Array | None = None  # (H, n, F + 1), last column the intercept
        self._anchors = 0  # anchors seen
        self._caught_up = 0  # anchors whose entering samples are in the sums

    def predict(self, features: Array, horizons: Horizons, state: FeatureState) -> Array:
        if self._sums is None:
            if self.window + int(horizons.max()) + self.refit_every >= state.window:
                raise ValueError(
                    f"ridge window {self.window} + horizon + refit_every exceeds the feature history {state.window}"
                )
            self._sums = _WindowSums(len(horizons), state.n)
        self._anchors += 1
        if self._coef is None or self._anchors % self.refit_every == 0:
            self._catch_up(horizons, state)
            self._coef = self._sums.solve(self.alpha, self.min_samples)
        design = np.concatenate([features, np.ones((features.shape[0], 1))], axis=1)
        pred: Array = np.einsum("nf,hnf->hn", design, self._coef)
        return pred

    def _catch_up(self, horizons: Horizons, state: FeatureState) -> None:
        """Move each horizon's window to now: add the samples whose target closed since the last
        solve (lags h .. h+k-1) and remove those that fell out of it (lags + window)."""
        assert self._sums is not None
        k = self._anchors - self._caught_up
        self._caught_up = self._anchors
        steps = np.arange(k)
        entering = horizons[:, None] + steps[None, :]
        lags = np.concatenate([entering, entering + self.window], axis=1)  # (H, 2k)
        sign = np.repeat([1.0, -1.0], k)
        self._sums.add(*_samples(state, lags, horizons, sign))


def _samples(
    state: FeatureState, lags: npt.NDArray[np.int64], horizons: Horizons, sign: Array
) -> tuple[Array, Array, Array]:
    """Features seen `lags` (H, K) anchors ago (H, K, n, F), their h-bar forward log returns
    (H, K, n), and weights (H, K, n): `sign` per lag, 0 when unusable or not yet seen."""
    ages = state.count - 1 - lags  # anchor index of each sample
    seen = ages >= 0
    slots = ages % state.window
    x = state.feature_history[slots]  # (H, K, n, F)
    c0 = state.close_history[slots]
    c1 = state.close_history[(ages + horizons[:, None]) % state.window]
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log(c1 / c0)
    ok = seen[:, :, None] & np.isfinite(y) & np.isfinite(x).all(axis=3)
    return np.where(ok[..., None], x, 0.0), np.where(ok, y, 0.0), sign[None, :, None] * ok


class _WindowSums:
    """Running sums per horizon and instrument of the window's samples: count, x, y, x x^T, x y."""

    def __init__(self, horizons: int, n: int) -> None:
        self.count = np.zeros((horizons, n))
        self.sx = np.zeros((horizons, n, N_FEATURES))
        self.sy = np.zeros((horizons, n))
        self.sxx = np.zeros((horizons, n, N_FEATURES, N_FEATURES))
        self.sxy = np.zeros((horizons, n, N_FEATURES))

    def add(self, x: Array, y: Array, w: Array) -> None:
        """Add samples x (H, k, n, F), y (H, k, n) with weights w (H, k, n) (negative: remove)."""
        wx = w[..., None] * x
        self.count += w.sum(axis=1)
        self.sx += wx.sum(axis=1)
        self.sy += (w * y).sum(axis=1)
        self.sxx += wx.transpose(0, 2, 3, 1) @ x.transpose(0, 2, 1, 3)
        self.sxy += (wx * y[..., None]).sum(axis=1)

    def solve(self, alpha: float, min_samples: int) -> Array:
        """Coefficients (H, n, F + 1) of ridge on standardised features; zeros below min_samples."""
        c = np.maximum(self.count, 1.0)[..., None]
        mx = self.sx / c
        my = self.sy / c[..., 0]
        cov = self.sxx / c[..., None] - mx[..., :, None] * mx[..., None, :]
        cxy = self.sxy / c - mx * my[..., None]
        scale = np.sqrt(np.clip(np.diagonal(cov, axis1=2, axis2=3), 0.0, None))
        scale = np.where(scale > 1e-12, scale, 1.0)
        gram = cov / (scale[..., :, None] * scale[..., None, :]) * c[..., None] + alpha * np.eye(N_FEATURES)
        rhs = cxy / scale * c
        beta = np.linalg.solve(gram, rhs[..., None])[..., 0] / scale
        intercept = my - (beta * mx).sum(axis=-1)
        usable = (self.count >= min_samples)[..., None]
        return np.where(usable, np.concatenate([beta, intercept[..., None]], axis=-1), 0.0)


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
