"""Online calibration: exponentially weighted accuracy of resolved predictions.

Kept per (model, horizon, instrument) for one interval. With residual = actual_ret - pred_ret
and error = actual_ret - pred_ret_adj (docs/predictor.md):
  bias     = EW mean of residuals          -> the calib_bias added to the next pred_ret
  mae      = EW mean of |error|
  rmse     = sqrt(EW mean of error^2)
  hit_rate = EW mean of [sign(actual_ret) == sign(pred_ret_adj)]
  n        = resolutions seen (not weighted)
Weights halve every `halflife` resolutions; the means are normalised by the weight sum, so
they are unbiased from the first resolution on.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from app.predictor.features import Array

Mask = npt.NDArray[np.bool_]
SUMS = ("weight", "s_residual", "s_abs", "s_sq", "s_hit")  # rows of Calibration.sums


class Calibration:
    """EW accuracy state over (models, horizons, instruments).

    `n` counts resolutions; `sums` holds the decayed sums named in SUMS, one row each, so an
    update is a handful of array operations whatever the number of models.
    """

    def __init__(self, models: int, horizons: int, n: int, *, halflife: float) -> None:
        self.decay = 0.5 ** (1.0 / halflife)
        self.n = np.zeros((models, horizons, n), dtype=np.int64)
        self.sums = np.zeros((len(SUMS), models, horizons, n))

    def bias(self, k: int) -> Array:
        """calib_bias (models, instruments) for horizon row `k`; 0 before the first resolution."""
        from app.predictor.kernels import calibration_bias

        out = np.empty((self.sums.shape[1], self.sums.shape[3]))
        calibration_bias(self.sums, k, out)
        return out

    def resolve(
        self, k: int, close: Array, block: tuple[Mask, Array, Array, Array], on_target: bool
    ) -> tuple[Mask, Array, Array]:
        """Resolve horizon row `k`'s block (made, close_pred, pred_ret, pred_ret_adj) with this
        anchor's closes and fold its outcomes in: (ok, actual_ret, error), as
        app.predictor.kernels.resolve defines them."""
        from app.predictor.kernels import resolve

        n = len(close)
        ok, actual, error = np.empty(n, dtype=np.bool_), np.empty(n), np.empty(block[2].shape)
        resolve(close, block, on_target, self.n, self.sums, k, self.decay, ok, actual, error)
        return ok, actual, error

    def reset(self, m: int, k: int, i: int) -> None:
        """Forget model row `m`'s calibration for horizon row `k` and instrument `i`."""
        self.n[m, k, i] = 0
        self.sums[:, m, k, i] = 0.0

    def snapshot(self, k: int) -> tuple[npt.NDArray[np.int64], Array]:
        """Copies of horizon row `k`'s counts (models, n) and sums (5, models, n)."""
        return self.n[:, k].copy(), self.sums[:, :, k].copy()


def summarise(n: Any, sums: Any) -> dict[str, Any]:
    """{n, bias, mae, rmse, hit_rate} from a count and the EW sums in SUMS order (arrays or numbers)."""
    weight, s_residual, s_abs, s_sq, s_hit = sums
    w = np.maximum(weight, 1e-300)
    return {"n": n, "bias": s_residual / w, "mae": s_abs / w, "rmse": np.sqrt(s_sq / w), "hit_rate": s_hit / w}
