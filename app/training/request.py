"""What a training worker process is handed, and the work it runs, named by import string: a light
module, so the server never imports LightGBM (the worker process imports app.training.worker)."""

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


TRAIN = "app.training.worker:train_in_worker"  # (request, reporter) -> the result; see app.training.worker
