"""The routes' dependencies: each part of the app's Services as an `Annotated` alias, so a
route declares what it uses (`trading: TradingDep`) and never reads `app.state` itself.

They work in HTTP and WebSocket routes alike (the connection is an `HTTPConnection`)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from app.api.services import Services, services_of
from app.api.ws_market import MarketBroadcast
from app.api.ws_streams import StreamRegistry
from app.automation.system import JobSystem
from app.bus.interface import EventBus
from app.cluster.node import ClusterNode
from app.core.config import Settings
from app.jobs.worker import WorkerPool
from app.market.candles import CandleStore
from app.market.feed import MarketFeed
from app.market.instrument_master.store import InstrumentMaster
from app.market.status import MarketStatusTracker
from app.notify.notifier import Notifier
from app.predictor.service import PredictorService
from app.predictor.store import PredictionStore
from app.trading.service import TradingService


def get_services(connection: HTTPConnection) -> Services:
    return services_of(connection.app)


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_bus(services: ServicesDep) -> EventBus:
    return services.bus


def get_streams(services: ServicesDep) -> StreamRegistry:
    return services.streams


def get_market(services: ServicesDep) -> MarketFeed:
    return services.market


def get_market_status(services: ServicesDep) -> MarketStatusTracker:
    return services.market_status


def get_market_broadcast(services: ServicesDep) -> MarketBroadcast:
    return services.market_broadcast


def get_candles(services: ServicesDep) -> CandleStore:
    return CandleStore(services.db)


def get_instrument_master(services: ServicesDep) -> InstrumentMaster:
    return InstrumentMaster(services.db)


def get_trading(services: ServicesDep) -> TradingService:
    return services.trading


def get_jobs(services: ServicesDep) -> JobSystem:
    return services.jobs


def get_workers(services: ServicesDep) -> WorkerPool:
    """The job system's worker processes, for answers computed off the event loop (app.api.worker_answers)."""
    return services.jobs.runner.pool


def get_predictor(services: ServicesDep) -> PredictorService:
    return services.predictor


def get_predictions(services: ServicesDep) -> PredictionStore:
    return services.predictions


def get_cluster(services: ServicesDep) -> ClusterNode:
    return services.cluster


def get_notifier(services: ServicesDep) -> Notifier:
    return services.notifier


SettingsDep = Annotated[Settings, Depends(get_settings)]
BusDep = Annotated[EventBus, Depends(get_bus)]
StreamsDep = Annotated[StreamRegistry, Depends(get_streams)]
MarketDep = Annotated[MarketFeed, Depends(get_market)]
MarketStatusDep = Annotated[MarketStatusTracker, Depends(get_market_status)]
MarketBroadcastDep = Annotated[MarketBroadcast, Depends(get_market_broadcast)]
CandlesDep = Annotated[CandleStore, Depends(get_candles)]
InstrumentMasterDep = Annotated[InstrumentMaster, Depends(get_instrument_master)]
TradingDep = Annotated[TradingService, Depends(get_trading)]
JobsDep = Annotated[JobSystem, Depends(get_jobs)]
WorkersDep = Annotated[WorkerPool, Depends(get_workers)]
PredictorDep = Annotated[PredictorService, Depends(get_predictor)]
PredictionsDep = Annotated[PredictionStore, Depends(get_predictions)]
ClusterDep = Annotated[ClusterNode, Depends(get_cluster)]
NotifierDep = Annotated[Notifier, Depends(get_notifier)]
