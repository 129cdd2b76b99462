"""What a training worker process is handed (a light module: the server never imports LightGBM)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.predictor.features import Array


@dataclass(frozen=True, slots=True)
class TrainRequest:
    """Everything a worker needs: the kind, its params, the candles' times and closes, where to save."""

    kind: str
    params: dict[str, Any]
    ts: npt.NDArray[np.int64]
    close: Array
    artifact_dir: str


def train(request: TrainRequest, reporter: Any) -> dict[str, Any]:
    """Run in the worker process: the training itself lives in app.training.worker (LightGBM, scikit-learn)."""
    from app.training.worker import train_in_worker

    return train_in_worker(request, reporter)
