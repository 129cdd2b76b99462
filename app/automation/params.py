"""Params of each automation kind (unknown fields refused; 422 naming each wrong one)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from typing_extensions import Self

from app.market.errors import InvalidInstrumentKey, UnknownInterval
from app.market.instruments import parse_instrument_key
from app.market.intervals import parse_interval
from app.market.timestamps import time_zone
from app.training.params import PARAMS as TRAINING_PARAMS

Instruments = Annotated[list[str], Field(max_length=1000, description="instrument keys; empty: the default universe")]


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _check_keys(value: list[str]) -> list[str]:
    try:
        return list(dict.fromkeys(parse_instrument_key(k) for k in value))
    except InvalidInstrumentKey as e:
        raise ValueError(str(e)) from e


def _check_interval(value: str) -> str:
    try:
        return parse_interval(value).name
    except UnknownInterval as e:
        raise ValueError(str(e)) from e


def _check_tz(value: str | None) -> str | None:
    return None if value is None else time_zone(value)


class BackfillParams(_Params):
    """Fill the candle store: `simulated` generates the simulated market's history before its
    live start; `file` imports a candle file on the server's disk for one instrument; `upstox`
    fetches Upstox's historical candles of the last `days` days not yet stored."""

    source: Literal["simulated", "file", "upstox"] = "simulated"
    instruments: Instruments = []
    interval: str = "1m"
    days: int = Field(
        20,
        ge=1,
        le=2000,
        description="simulated: sessions of history before the live start; upstox: calendar days back from today",
    )
    path: str | None = Field(None, description="file: the candle file (CSV, Parquet, Upstox JSON)")
    tz: str | None = Field(
        None, description="file: the IANA zone of times without a UTC offset (bare dates: daily bars' session open)"
    )

    _keys = field_validator("instruments")(_check_keys)
    _interval = field_validator("interval")(_check_interval)
    _tz = field_validator("tz")(_check_tz)

    @model_validator(mode="after")
    def _source_fields(self) -> Self:
        if self.source == "file" and (self.path is None or len(self.instruments) != 1):
            raise ValueError("source 'file' needs a path and exactly one instrument")
        if self.source != "file" and self.path is not None:
            raise ValueError(f"path: only for source 'file', not {self.source!r}")
        if self.source != "file" and self.tz is not None:
            raise ValueError(f"tz: only for source 'file', not {self.source!r}")
        return self


class RetrainParams(_Params):
    """Train every kind in `kinds` for every instrument, as child training jobs."""

    instruments: Instruments = []
    interval: str = "1m"
    kinds: Annotated[list[Literal["ridge", "lgbm"]], Field(min_length=1)] = ["ridge", "lgbm"]
    horizons: Annotated[list[Annotated[int, Field(ge=1, le=1000)]], Field(min_length=1, max_length=8)] = [1, 5]
    folds: int = Field(5, ge=2, le=20)
    training: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description='extra params per kind, e.g. {"lgbm": {"n_estimators": 200}}'
    )
    backfill_days: int = Field(0, ge=0, le=2000, description="> 0: first backfill this many sessions (simulated)")

    _keys = field_validator("instruments")(_check_keys)
    _interval = field_validator("interval")(_check_interval)

    @model_validator(mode="after")
    def _training_params_fit(self) -> Self:
        for kind in self.training:
            if kind not in TRAINING_PARAMS:
                raise ValueError(f"training: unknown kind {kind!r}; one of {', '.join(TRAINING_PARAMS)}")
            try:
                TRAINING_PARAMS[kind].model_validate(self.child_params(kind, "NSE_EQ|CHECK"))
            except ValidationError as e:
                wrong = "; ".join(f"{'.'.join(map(str, p['loc']))}: {p['msg']}" for p in e.errors(include_url=False))
                raise ValueError(f"training.{kind}: {wrong}") from None
        return self

    def child_params(self, kind: str, instrument_key: str) -> dict[str, Any]:
        return {
            "instrument_key": instrument_key,
            "interval": self.interval,
            "horizons": self.horizons,
            "folds": self.folds,
            **self.training.get(kind, {}),
        }


class EvaluateParams(_Params):
    """Report on resolved predictions whose ts_pred lies within `window` seconds of the newest one."""

    window: int = Field(86_400, ge=60, le=400 * 86_400, description="seconds of predictions (exchange time)")
    instrument_key: str | None = None
    interval: str | None = None
    bins: int = Field(5, ge=2, le=20, description="calibration bins (quantiles of pred_ret_adj)")


class PruneParams(_Params):
    """Retention: events (the bus's rules, now), predictions older than `predictions_max_age`
    days before the newest one, models beyond the newest `models_keep` per (instrument,
    interval) (a promoted model is always kept)."""

    events: bool = True
    predictions_max_age: float = Field(30.0, gt=0, description="days")
    models_keep: int = Field(5, ge=1, le=1000)


class SquareOffParams(_Params):
    """Ask the trading engine to flatten every position."""

    reason: str = Field("square-off before the close", max_length=200)
