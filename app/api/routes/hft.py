"""The trading engine over REST: lifecycle (start, stop, halt, resume, flatten) and its state."""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict, Field

from app.api.deps import SettingsDep, TradingDep, WorkersDep
from app.api.params import RowIdQuery
from app.api.schemas.errors import errors
from app.api.schemas.hft import (
    EngineStatus,
    FlattenOut,
    OrderList,
    OrderOut,
    PositionsOut,
    StoppedEngine,
    TradeList,
    TradeOut,
)
from app.api.security import require_token
from app.api.worker_answers import computed_in_worker
from app.trading.enums import TradeStatus
from app.trading.errors import BadLimits, BadPeriod, BrokerError, LiveTradingRefused, NoKillSwitch, UnknownBroker
from app.trading.export import trade_rows
from app.trading.performance import Performance
from app.trading.record import Period

# Answers over a whole record, computed in a worker process (app.api.worker_answers), by the
# import strings the worker resolves.
PERFORMANCE = "app.trading.record:performance_in_worker"
TRADES_CSV = "app.trading.export:trades_csv_in_worker"
ORDERS_CSV = "app.trading.export:orders_csv_in_worker"

router = APIRouter(prefix="/api/hft", tags=["hft"], dependencies=[Depends(require_token)], responses=errors(401, 409))


class LimitsIn(BaseModel):
    """Risk limits for this run; each may only be stricter than the server's configuration."""

    model_config = ConfigDict(extra="forbid")

    max_open_trades: Annotated[int, Field(gt=0)] | None = None
    risk_per_trade: Annotated[float, Field(gt=0, description="rupees")] | None = None
    max_notional_per_trade: Annotated[float, Field(gt=0, description="rupees")] | None = None
    max_notional_total: Annotated[float, Field(gt=0, description="rupees")] | None = None
    max_daily_loss: Annotated[float, Field(gt=0, description="rupees")] | None = None
    max_orders_per_second: Annotated[int, Field(gt=0, le=10)] | None = None
    cooldown: Annotated[float, Field(ge=0, description="exchange seconds after a stop-out")] | None = None


class StartEngine(BaseModel):
    """`live_trading_enabled` is not a field: it comes only from the server's configuration."""

    model_config = ConfigDict(extra="forbid")

    broker: str = Field("paper", description="a registered broker: paper, upstox")
    safe_mode: bool = Field(True, description="true: every order goes to the paper broker, whatever the broker")
    limits: LimitsIn = Field(default_factory=LimitsIn)


class HaltEngine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("halted by request", min_length=1, max_length=500)
    broker_kill_switch: bool = Field(
        False,
        strict=True,
        description="also flatten, then engage the broker's own kill switch for the universe's segments "
        "(409 when the venue has none: paper, safe mode)",
    )


class FlattenEngine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str | None = Field(None, max_length=500, description="a note stored with the exits")


@router.post(
    "/start",
    summary="Start trading (409 running, 422 unknown broker or limits, 403 safe_mode off without live trading)",
    response_model=EngineStatus,
    response_model_exclude_unset=True,  # the status leaves out a run's counters when stopped
    responses=errors(403, 422, 502),
)
async def start_engine(service: TradingDep, body: Annotated[StartEngine | None, Body()] = None) -> dict[str, Any]:
    body = body or StartEngine()
    try:
        return await service.start(body.broker, body.safe_mode, body.limits.model_dump(exclude_none=True))
    except UnknownBroker as e:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": ["body", "broker"], "msg": str(e), "input": e.name}]
        ) from e
    except BadLimits as e:
        detail = [{"loc": ["body", "limits", name], "msg": msg} for name, msg in e.problems.items()]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from e
    except LiveTradingRefused as e:
        raise HTTPException(status.HTTP_403_FORBIDDEN, str(e)) from e
    except BrokerError as e:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, f"the broker could not be connected: {e}") from e


@router.post(
    "/stop",
    summary="Flatten, then stop (409 when stopped, or when the flatten left errors: then halted)",
    response_model=StoppedEngine,
    response_model_exclude_unset=True,
)
async def stop_engine(service: TradingDep) -> dict[str, Any]:
    return await service.stop()


@router.post(
    "/halt",
    summary="Kill switch: no new entries; open trades are still managed (409 when stopped). "
    "With broker_kill_switch: flatten, then the broker's kill switch (409 without one, 502 when it refuses)",
    response_model=EngineStatus,
    response_model_exclude_unset=True,
    responses=errors(422, 502),
)
async def halt_engine(service: TradingDep, body: Annotated[HaltEngine | None, Body()] = None) -> dict[str, Any]:
    body = body or HaltEngine()
    try:
        return await service.halt(body.reason, broker_kill_switch=body.broker_kill_switch)
    except NoKillSwitch as e:
        raise HTTPException(status.HTTP_409_CONFLICT, str(e)) from e
    except BrokerError as e:
        raise HTTPException(
            status.HTTP_502_BAD_GATEWAY, f"halted and flat, but the broker kill switch failed: {e}"
        ) from e


@router.post(
    "/resume",
    summary="Allow entries again after a halt (409 unless halted, or past the daily loss limit)",
    response_model=EngineStatus,
    response_model_exclude_unset=True,
)
async def resume_engine(service: TradingDep) -> dict[str, Any]:
    return await service.resume()


@router.post("/flatten", summary="Close every open trade now (409 when stopped)", response_model=FlattenOut)
async def flatten_engine(service: TradingDep, body: Annotated[FlattenEngine | None, Body()] = None) -> dict[str, Any]:
    return asdict(await service.flatten((body or FlattenEngine()).reason))


@router.get(
    "/status",
    summary="State, broker and venue, the two keys, limits, today's PnL, counters",
    response_model=EngineStatus,
    response_model_exclude_unset=True,
)
async def read_engine_status(service: TradingDep) -> dict[str, Any]:
    return service.status()


def period_of(
    from_: Annotated[date | None, Query(alias="from", description="first IST date (YYYY-MM-DD), included")] = None,
    to: Annotated[date | None, Query(description="last IST date (YYYY-MM-DD), included")] = None,
) -> Period:
    try:
        return Period(from_, to)
    except BadPeriod as e:
        detail = [{"loc": ["query", e.field], "msg": e.problem, "input": str(from_)}]
        raise HTTPException(status.HTTP_422_UNPROCESSABLE_CONTENT, detail) from e


PeriodDep = Annotated[Period, Depends(period_of)]


def trade_status_of(status: Literal["open", "closed"] | None = None) -> TradeStatus | None:
    return TradeStatus(status) if status else None


TradeStatusDep = Annotated[TradeStatus | None, Depends(trade_status_of)]
# The JSON pages are made on the event loop: 100,000 rows of a year's record took 1.1-2.1 s there,
# with stalls of up to ~1 s (10,000: up to ~0.2 s); the CSV books, made in a worker process, take
# the whole record (docs/performance.md).
PageLimit = Annotated[int, Query(ge=1, le=10_000)]
BookLimit = Annotated[int, Query(ge=1, le=100_000)]
CSV: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "CSV, one row per record, a header first"}
}


def _csv(text: str, name: str) -> Response:
    return Response(text, media_type="text/csv", headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.get("/trades", summary="Stored trades entered in the period, newest first", response_model=TradeList)
async def read_trades(
    service: TradingDep,
    period: PeriodDep,
    status: TradeStatusDep,
    instrument_key: str | None = None,
    limit: PageLimit = 500,
) -> dict[str, Any]:
    return {"trades": await trade_rows(service.store, status, instrument_key, limit, period.since, period.until)}


@router.get(
    "/trades.csv",
    summary="The trades of GET /api/hft/trades as CSV, with charges by kind and times in IST and UTC",
    response_class=Response,
    responses={**CSV, **errors(422, 503)},
)
async def export_trades(
    service: TradingDep,
    workers: WorkersDep,
    period: PeriodDep,
    status: TradeStatusDep,
    instrument_key: str | None = None,
    limit: BookLimit = 500,
) -> Response:
    args = (service.store.db.url, status, instrument_key, limit, period, service.strategy.costs)
    return _csv(await computed_in_worker(workers, TRADES_CSV, *args, list(TradeOut.model_fields)), "trades.csv")


@router.get("/orders", summary="Stored orders decided in the period, newest first", response_model=OrderList)
async def read_orders(
    service: TradingDep, period: PeriodDep, trade_id: RowIdQuery = None, limit: PageLimit = 500
) -> dict[str, Any]:
    return {
        "orders": await service.store.orders(trade_id=trade_id, limit=limit, since=period.since, until=period.until)
    }


@router.get(
    "/orders.csv",
    summary="The orders of GET /api/hft/orders as CSV, with charges by kind and times in IST and UTC",
    response_class=Response,
    responses={**CSV, **errors(422, 503)},
)
async def export_orders(
    service: TradingDep, workers: WorkersDep, period: PeriodDep, trade_id: RowIdQuery = None, limit: BookLimit = 500
) -> Response:
    args = (service.store.db.url, trade_id, limit, period, service.strategy.costs)
    return _csv(await computed_in_worker(workers, ORDERS_CSV, *args, list(OrderOut.model_fields)), "orders.csv")


@router.get(
    "/performance",
    summary="How the live and paper record did over the period: equity, drawdown, daily PnL, ratios, splits",
    response_model=Performance,
    responses=errors(422, 503),
)
async def read_performance(
    service: TradingDep, settings: SettingsDep, workers: WorkersDep, period: PeriodDep
) -> Performance:
    """Measured in a worker process (app.trading.record): the desk goes on meanwhile."""
    args = (service.store.db.url, period, service.feed.interval, service.strategy.costs, settings.hft_capital)
    performance: Performance = await computed_in_worker(workers, PERFORMANCE, *args)
    return performance


@router.get(
    "/positions",
    summary="The venue's positions (with what the engine expects) and funds",
    response_model=PositionsOut,
    responses=errors(502),
)
async def read_positions(service: TradingDep) -> dict[str, Any]:
    try:
        return await service.positions()
    except BrokerError as e:
        raise HTTPException(status.HTTP_502_BAD_GATEWAY, str(e)) from e
