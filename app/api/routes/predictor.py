"""The predictor over REST: start/stop/status, prediction history, calibration, evaluation."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import InstrumentMasterDep, PredictionsDep, PredictorDep, SettingsDep, WorkersDep
from app.api.params import SQL_INT_MAX, EpochQuery
from app.api.schemas.errors import errors
from app.api.schemas.predictor import (
    CalibrationList,
    EvaluationList,
    PredictionList,
    PredictionStatus,
    PredictorStatusOut,
)
from app.api.security import require_token
from app.api.worker_answers import computed_in_worker
from app.market.errors import MarketDataError
from app.market.instrument_master.resolve import resolve_instrument
from app.predictor.config import PredictorConfig
from app.predictor.errors import UnknownInstruments
from app.trading.system import round_trip_cost

# The live record's evaluation, by the import string the worker process resolves: the server itself
# never imports it (scipy, statsmodels) and never holds the rows (app.predictor.live_record).
EVALUATE = "app.predictor.live_record:evaluate_live_record"

router = APIRouter(tags=["predictor"], dependencies=[Depends(require_token)], responses=errors(401))


class StartPredictor(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instruments: list[str] = Field(
        default_factory=list,
        description="instrument keys or trading symbols (RELIANCE, NSE_EQ:RELIANCE); empty: every one the feed has",
    )
    cfg: PredictorConfig = Field(default_factory=PredictorConfig)


@router.post(
    "/api/predictor/start",
    summary="Start predicting (409 when already running)",
    response_model=PredictorStatusOut,
    responses=errors(409, 422),
)
async def start_predictor(service: PredictorDep, master: InstrumentMasterDep, body: StartPredictor) -> dict[str, Any]:
    keys = []
    for index, text in enumerate(body.instruments):
        try:
            keys.append(await resolve_instrument(text, master))
        except MarketDataError as e:
            detail = [{"loc": ["body", "instruments", index], "msg": str(e), "input": text}]
            raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from e
    try:
        await service.start(keys, body.cfg)
        return service.report()
    except UnknownInstruments as e:
        detail = [{"loc": ["body", "instruments"], "msg": str(e), "input": e.unknown}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from e


@router.post(
    "/api/predictor/stop",
    summary="Stop predicting (409 when not running)",
    response_model=PredictorStatusOut,
    responses=errors(409),
)
async def stop_predictor(service: PredictorDep) -> dict[str, Any]:
    await service.stop()
    return service.report()


@router.get("/api/predictor/status", summary="The predictor's run and counters", response_model=PredictorStatusOut)
async def read_predictor_status(service: PredictorDep) -> dict[str, Any]:
    return service.report()


@router.get("/api/predictions", summary="Stored predictions, newest first", response_model=PredictionList)
async def read_predictions(
    store: PredictionsDep,
    instrument_key: str | None = None,
    status_: Annotated[PredictionStatus | None, Query(alias="status")] = None,
    start: EpochQuery = None,  # ts_pred >= start
    end: EpochQuery = None,  # ts_pred <= end
    limit: Annotated[int, Query(ge=1, le=5000)] = 500,
) -> dict[str, Any]:
    rows = await store.find(instrument_key=instrument_key, status=status_, start=start, end=end, limit=limit)
    return {"predictions": rows}


@router.get(
    "/api/predictor/calibration",
    summary="Calibration per instrument, interval, horizon and model",
    response_model=CalibrationList,
)
async def read_calibration(store: PredictionsDep) -> dict[str, Any]:
    return {"calibration": await store.calibration()}


@router.get(
    "/api/predictor/evaluation",
    summary="Forecast evaluation of the live record per interval, model and horizon (docs/predictor.md)",
    response_model=EvaluationList,
    responses=errors(422, 503),
)
async def read_evaluation(
    store: PredictionsDep,
    settings: SettingsDep,
    workers: WorkersDep,
    from_: Annotated[
        int | None, Query(alias="from", ge=0, le=SQL_INT_MAX, description="ts_pred >= from (UTC epoch seconds)")
    ] = None,
    to: EpochQuery = None,  # ts_pred <= to
) -> dict[str, Any]:
    if from_ is not None and to is not None and from_ > to:
        detail = [{"loc": ["query", "from"], "msg": f"from ({from_}) is after to ({to})", "input": from_}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail)
    cost = round_trip_cost(settings)
    evaluations = await computed_in_worker(workers, EVALUATE, store.db.url, from_, to, cost)
    return {"round_trip_cost": cost, "evaluations": evaluations}
