"""Training job params per kind (unknown fields refused; 422 naming each wrong one)."""

from __future__ import annotations

import os
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from typing_extensions import Self

from app.market.errors import InvalidInstrumentKey
from app.market.instruments import parse_instrument_key
from app.market.intervals import IntervalName
from app.predictor.config import Horizons

MAX_THREADS = os.cpu_count() or 1


class TrainingParams(BaseModel):
    """What every training kind takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    instrument_key: str = Field(description="instrument whose stored candles to train on")
    interval: IntervalName = Field("1m", description="candle interval; canonical name or alias")
    horizons: Horizons = [1, 5]
    folds: int = Field(5, ge=2, le=20, description="walk-forward validation folds")
    start: int | None = Field(None, ge=0, description="first bar open used (epoch s); default: the first stored")
    end: int | None = Field(None, ge=0, description="last bar open used (epoch s); default: the last stored")

    @field_validator("instrument_key")
    @classmethod
    def _key(cls, value: str) -> str:
        try:
            return parse_instrument_key(value)
        except InvalidInstrumentKey as e:
            raise ValueError(str(e)) from e

    @model_validator(mode="after")
    def _range(self) -> Self:
        if self.start is not None and self.end is not None and self.start > self.end:
            raise ValueError("start is after end")
        return self


class RidgeParams(TrainingParams):
    """Ridge regression on the standardised features (scikit-learn)."""

    alpha: float = Field(10.0, gt=0, le=1e9, description="L2 penalty")


class LgbmParams(TrainingParams):
    """Gradient-boosted trees (LightGBM), one model per horizon."""

    n_estimators: int = Field(100, ge=1, le=20_000, description="boosting rounds")
    learning_rate: float = Field(0.05, gt=0, le=1)
    num_leaves: int = Field(15, ge=2, le=1024)
    min_child_samples: int = Field(200, ge=1, le=100_000)
    objective: Literal["l1", "l2", "huber"] = Field("l1", description="l1 fits the median (what MAE rewards)")
    num_threads: int = Field(min(2, MAX_THREADS), ge=1, le=MAX_THREADS, description="LightGBM threads")


PARAMS: dict[str, type[TrainingParams]] = {"ridge": RidgeParams, "lgbm": LgbmParams}
