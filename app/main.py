"""The application builder: wires settings, bus and routes explicitly, nothing auto-registered."""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from app.api.errors import install_error_handlers
from app.api.guards import RequestGuards
from app.api.leader_routes import LeaderRoutes, answer_on_leader
from app.api.openapi_doc import install_openapi
from app.api.routes import (
    automation,
    candles,
    contract,
    events,
    health,
    hft,
    instruments,
    market,
    models,
    notify,
    predictor,
    training,
    web,
    ws,
    ws_market,
)
from app.api.services import Services, services_of
from app.api.ws_codes import CloseCode
from app.api.ws_market import MarketBroadcast
from app.api.ws_streams import StreamRegistry
from app.automation.system import build_from_settings, retrain_at_start
from app.bus.build import build_bus
from app.cluster.node import build_cluster
from app.core import heap
from app.core.config import Settings
from app.core.logging import configure_logging
from app.market.calendar import NseCalendar
from app.market.feed import MarketFeed
from app.market.instrument_master.resolve import resolve_instruments
from app.market.instrument_master.store import InstrumentMaster
from app.market.sources import build_source
from app.market.status import MarketStatusTracker
from app.notify.notifier import Notifier
from app.predictor.config import DEFAULT_UNIVERSE, PredictorConfig
from app.predictor.service import PredictorService
from app.predictor.store import PredictionStore
from app.storage.db import Database
from app.storage.migrate import prepare_async
from app.trading.feed_alerts import FeedAlerts
from app.trading.system import SquareOff, build_trading


class LeaderDuties:
    """What only the cluster's leader runs (a lone server is always the leader): the job
    runner's recovery and the scheduler, the predictor, the trading engine's recovery, and the
    answers to leader routes relayed by the other processes."""

    def __init__(self, app: FastAPI, settings: Settings, has_market: bool) -> None:
        self.app = app
        self.settings = settings
        self.has_market = has_market
        self._retrained = False

    async def on_elected(self, token: int) -> None:
        services, settings = services_of(self.app), self.settings
        await services.notifier.start()  # first: the recovery below may already be worth an alert
        await services.jobs.start()
        default = None
        if settings.predictor_autostart and self.has_market:
            universe = [key for key in DEFAULT_UNIVERSE if key in services.market.instruments]
            default = (universe, PredictorConfig(interval=settings.market_interval))
        await services.predictor.recover(default)
        await services.trading.recover(autostart=settings.hft_autostart and self.has_market)
        if settings.automation_retrain_at_start and not self._retrained:
            self._retrained = True
            await retrain_at_start(services.jobs, settings)
        services.cluster.serve_relayed(functools.partial(answer_on_leader, self.app))

    async def on_deposed(self) -> None:
        services = services_of(self.app)
        await services.cluster.stop_serving_relayed()
        await services.trading.stand_down()
        await services.predictor.close()
        await services.jobs.stand_down()
        await services.notifier.stop()


def app_from_environment() -> FastAPI:
    """One process of `signaldesk serve --workers N`: settings from SIGNALDESK_* variables."""
    settings = Settings()
    configure_logging(settings.log_level, settings.log_format)
    return create_app(settings, prepare_db=False)  # `serve` prepared it before starting them


def create_app(settings: Settings, *, prepare_db: bool = True) -> FastAPI:
    """One signaldesk server: the bus is opened by the lifespan and closed after the last client.

    :param prepare_db: the lifespan upgrades the schema (or checks it, SIGNALDESK_DB_AUTO_UPGRADE=false)
        first; False when the caller did (`signaldesk serve` does, to fail with one line).
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        if prepare_db:
            await prepare_async(settings.db_url, auto_upgrade=settings.db_auto_upgrade)
        db = Database(settings.db_url)
        # Symbols become keys here, once, before anything reads them (`serve` did it already).
        settings.market_instruments = await resolve_instruments(settings.market_instruments, InstrumentMaster(db))
        bus = build_bus(settings)
        await bus.start()
        streams = StreamRegistry(settings.heartbeat_interval)
        market = MarketFeed()
        market_status = MarketStatusTracker(market)
        market_broadcast = MarketBroadcast(streams, market_status)
        market.add_listener(market_broadcast.on_bars)
        source = build_source(settings, db=db)
        if source is not None:
            market.start(source)
        trading = build_trading(settings, db=db, bus=bus, feed=market)
        market_status.add_listener(FeedAlerts(trading).on_status)
        notifier = Notifier.from_settings(
            settings, bus=bus, feed=market, market_status=market_status, trades=trading.store
        )
        jobs = build_from_settings(
            settings,
            db=db,
            bus=bus,
            feed=market,
            source=source,
            flattener=SquareOff(trading),
        )
        predictions = PredictionStore(db)
        predictor = PredictorService(
            bus=bus,
            store=predictions,
            feed=market,
            calendar=NseCalendar(),
            registry=jobs.registry,
            skill=trading.strategy.config.skill,
        )
        cluster = build_cluster(settings, LeaderDuties(app, settings, source is not None))
        services = Services(
            settings=settings,
            db=db,
            bus=bus,
            streams=streams,
            market=market,
            market_status=market_status,
            market_broadcast=market_broadcast,
            trading=trading,
            jobs=jobs,
            predictions=predictions,
            predictor=predictor,
            cluster=cluster,
            notifier=notifier,
        )
        services.install(app)  # before the leadership starts: its duties use them
        await cluster.leadership.start()
        heartbeats = asyncio.create_task(streams.run_heartbeats())
        # Everything built so far lives as long as the server: out of the collector's full
        # scans, which otherwise stall a cycle or a fan-out (app.core.heap). With a predictor
        # resumed, that includes its compiled kernels and numba, loading beside its start.
        await predictor.ready()
        heap.settle()
        try:
            yield
        finally:
            await cluster.close()
            await notifier.stop()
            await jobs.close()
            await trading.close()
            await predictor.close()
            await market.close()
            heartbeats.cancel()
            streams.close_all(CloseCode.GOING_AWAY, "server shutting down; reconnect and resume")
            await bus.close()
            await db.close()

    app = FastAPI(
        title="signaldesk",
        summary="ML price prediction and intraday trading of Indian equities, streamed live.",
        version="0.1.0",
        lifespan=lifespan,
        max_body_size=settings.max_body_bytes,  # routes with their own: the events (below), the candle import
    )
    install_error_handlers(app)
    app.add_middleware(LeaderRoutes)
    if settings.allowed_origins:  # a grant to the allowed origins only; none to any other
        methods, headers = ["GET", "POST", "PUT", "PATCH", "DELETE"], ["authorization", "content-type"]
        app.add_middleware(
            CORSMiddleware, allow_origins=settings.allowed_origins, allow_methods=methods, allow_headers=headers
        )
    # Outermost: nothing is routed, relayed or granted before the guards have passed it.
    app.add_middleware(RequestGuards, settings=settings, body_types={candles.IMPORT_PATH: candles.IMPORT_TYPES})
    app.include_router(health.router)
    app.include_router(contract.router)
    app.include_router(events.router, max_body_size=settings.max_event_bytes)
    app.include_router(candles.router)
    app.include_router(instruments.router)
    app.include_router(predictor.router)
    app.include_router(hft.router)
    app.include_router(training.router)
    app.include_router(automation.router)
    app.include_router(models.router)
    app.include_router(notify.router)
    app.include_router(ws_market.router)  # before ws.router, whose /api/ws/{channel} would take "market"
    app.include_router(ws.router)
    app.include_router(market.router)
    app.include_router(web.router)  # the dashboard at /; steps aside for /api, /docs, /metrics
    install_openapi(app)
    return app
