"""The trainable models: fit on (n, F) features and (n, H) targets, predict (n, H), save to and
load from a directory (no pickle: JSON coefficients for ridge, LightGBM's text format).

`predict` is plain numpy/LightGBM and releases no event-loop guarantees: call it off the loop
(in a worker thread or process) for anything but a handful of rows.

The server imports this module (app.registry.loaded) but neither scikit-learn nor LightGBM
until a model of theirs is fitted or loaded: those imports are in the methods that use them.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from app.predictor.features import Array

MANIFEST = "model.json"


class Checker(Protocol):
    def check(self) -> None: ...


class Estimator(Protocol):
    kind: str
    horizons: tuple[int, ...]

    def fit(self, x: Array, y: Array, checker: Checker) -> None: ...

    def predict(self, x: Array) -> Array:
        """Predictions (n, H) for samples (n, F)."""
        ...

    def save(self, directory: Path) -> None: ...


class RidgeEstimator:
    """Ridge on standardised features, all horizons in one solve (scikit-learn)."""

    kind = "ridge"

    def __init__(self, horizons: Sequence[int], *, alpha: float = 10.0) -> None:
        self.horizons = tuple(horizons)
        self.alpha = alpha
        self.mean: Array | None = None
        self.scale: Array | None = None
        self.coef: Array | None = None  # (H, F)
        self.intercept: Array | None = None  # (H,)

    def fit(self, x: Array, y: Array, checker: Checker) -> None:
        from sklearn.linear_model import Ridge  # only where a model is fitted (see the module's docstring)

        checker.check()
        self.mean = x.mean(axis=0)
        std = x.std(axis=0)
        self.scale = np.where(std > 1e-12, std, 1.0)
        model = Ridge(alpha=self.alpha).fit((x - self.mean) / self.scale, y)
        self.coef = np.atleast_2d(model.coef_)
        self.intercept = np.atleast_1d(model.intercept_)

    def predict(self, x: Array) -> Array:
        assert self.coef is not None and self.mean is not None and self.scale is not None and self.intercept is not None
        out: Array = ((x - self.mean) / self.scale) @ self.coef.T + self.intercept
        return out

    def save(self, directory: Path) -> None:
        assert self.coef is not None and self.mean is not None and self.scale is not None and self.intercept is not None
        manifest = {
            "kind": self.kind,
            "horizons": list(self.horizons),
            "alpha": self.alpha,
            "mean": self.mean.tolist(),
            "scale": self.scale.tolist(),
            "coef": self.coef.tolist(),
            "intercept": self.intercept.tolist(),
        }
        (directory / MANIFEST).write_text(json.dumps(manifest))

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> RidgeEstimator:
        model = cls(manifest["horizons"], alpha=manifest["alpha"])
        model.mean = np.array(manifest["mean"])
        model.scale = np.array(manifest["scale"])
        model.coef = np.array(manifest["coef"])
        model.intercept = np.array(manifest["intercept"])
        return model


class LgbmEstimator:
    """One LightGBM booster per horizon, with a bounded thread count.

    :param params: LightGBM parameters (objective, learning_rate, num_leaves, ...).
    :param rounds: boosting rounds per horizon.
    """

    kind = "lgbm"

    def __init__(self, horizons: Sequence[int], *, params: dict[str, Any], rounds: int) -> None:
        self.horizons = tuple(horizons)
        self.params = {"verbosity": -1, "max_bin": 63, "deterministic": True, "force_row_wise": True, **params}
        self.rounds = rounds
        self.boosters: list[Any] = []

    def fit(self, x: Array, y: Array, checker: Checker) -> None:
        import lightgbm as lgb  # only where a model is fitted or loaded (see the module's docstring)

        def abort_check(env: Any) -> None:
            if env.iteration % 10 == 0:
                checker.check()

        # One binned dataset for every horizon: binning is the features', not the target's.
        data = lgb.Dataset(
            x, label=y[:, 0], params={**self.params, "feature_pre_filter": False}, free_raw_data=False
        ).construct()
        self.boosters = []
        for k in range(len(self.horizons)):
            data.set_label(y[:, k])
            self.boosters.append(lgb.train(self.params, data, num_boost_round=self.rounds, callbacks=[abort_check]))

    def predict(self, x: Array) -> Array:
        threads = self.params.get("num_threads", 1)
        return np.stack([b.predict(x, num_threads=threads) for b in self.boosters], axis=1)

    def save(self, directory: Path) -> None:
        files = []
        for h, booster in zip(self.horizons, self.boosters, strict=True):
            name = f"h{h}.txt"
            booster.save_model(str(directory / name))
            files.append(name)
        manifest = {
            "kind": self.kind,
            "horizons": list(self.horizons),
            "params": self.params,
            "rounds": self.rounds,
            "files": files,
        }
        (directory / MANIFEST).write_text(json.dumps(manifest))

    @classmethod
    def load(cls, directory: Path, manifest: dict[str, Any]) -> LgbmEstimator:
        import lightgbm as lgb  # only where a model is fitted or loaded (see the module's docstring)

        model = cls(manifest["horizons"], params={**manifest["params"], "num_threads": 1}, rounds=manifest["rounds"])
        model.boosters = [lgb.Booster(model_file=str(directory / name)) for name in manifest["files"]]
        return model


def load_estimator(directory: Path) -> RidgeEstimator | LgbmEstimator:
    """The model saved in `directory` (FileNotFoundError, ValueError when unreadable)."""
    manifest = json.loads((directory / MANIFEST).read_text())
    if manifest["kind"] == "ridge":
        return RidgeEstimator.load(directory, manifest)
    if manifest["kind"] == "lgbm":
        return LgbmEstimator.load(directory, manifest)
    raise ValueError(f"unknown model kind {manifest['kind']!r} in {directory}")
