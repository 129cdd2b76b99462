"""Everything the routes use, as one typed object: built once by the lifespan (app.main), kept on
the app while it runs, and reached by routes through the dependencies of app.api.deps."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.applications import Starlette

from app.api.ws_market import MarketBroadcast
from app.api.ws_streams import StreamRegistry
from app.automation.system import JobSystem
from app.bus.interface import EventBus
from app.cluster.node import ClusterNode
from app.core.config import Settings
from app.market.feed import MarketFeed
from app.market.status import MarketStatusTracker
from app.notify.notifier import Notifier
from app.predictor.service import PredictorService
from app.predictor.store import PredictionStore
from app.storage.db import Database
from app.trading.service import TradingService


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    settings: Settings
    db: Database
    bus: EventBus
    streams: StreamRegistry
    market: MarketFeed
    market_status: MarketStatusTracker
    market_broadcast: MarketBroadcast
    trading: TradingService
    jobs: JobSystem
    predictions: PredictionStore
    predictor: PredictorService
    cluster: ClusterNode
    notifier: Notifier

    def install(self, app: Starlette) -> None:
        """Make these the app's services (the lifespan does, before the first request)."""
        app.state.services = self


def find_services(app: Starlette) -> Services | None:
    """The app's services, or None before its lifespan has built them."""
    services: Services | None = getattr(app.state, "services", None)
    return services


def services_of(app: Starlette) -> Services:
    services = find_services(app)
    if services is None:
        raise RuntimeError("the app's services are built by its lifespan, which has not run")
    return services
