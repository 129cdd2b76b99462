"""The predictor's `cfg`: what a run predicts and how it calibrates (validated, 422 on error)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from app.market.intervals import IntervalName
from app.predictor.models import MODEL_KINDS

DEFAULT_UNIVERSE = (
    "NSE_EQ|INE002A01018",  # RELIANCE
    "NSE_EQ|INE467B01029",  # TCS
    "NSE_EQ|INE040A01034",  # HDFCBANK
    "NSE_EQ|INE009A01021",  # INFY
    "NSE_EQ|INE090A01021",  # ICICIBANK
)


def distinct_sorted(value: list[int]) -> list[int]:
    if len(set(value)) != len(value):
        raise ValueError("horizons must be distinct")
    return sorted(value)


Horizons = Annotated[
    list[Annotated[int, Field(ge=1, le=1000)]], Field(min_length=1, max_length=8), AfterValidator(distinct_sorted)
]
"""horizon_steps of predictions or trained models: distinct, 1..1000, at most 8, kept sorted."""


class PredictorConfig(BaseModel):
    """Every field has a default; unknown fields are refused."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    interval: IntervalName = Field("1m", description="bar interval; canonical name or alias")
    horizons: Horizons = [1, 5]
    model_kind: str = Field("ridge", description=f"one of {', '.join(MODEL_KINDS)}")
    calib_halflife: float = Field(100.0, gt=0, le=1e6, description="resolutions until an outcome's weight halves")
    min_history: int = Field(3, ge=1, le=10_000, description="bars an instrument needs before it gets predictions")

    @field_validator("model_kind")
    @classmethod
    def _known_model(cls, value: str) -> str:
        if value not in MODEL_KINDS:
            raise ValueError(f"unknown model_kind {value!r}; one of {', '.join(MODEL_KINDS)}")
        return value
