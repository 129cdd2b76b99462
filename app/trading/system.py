"""The builder: the trading service of a server, from its settings (explicit, nothing global)."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url

from app.bus.interface import EventBus
from app.core.config import Settings
from app.market.clock import Clock
from app.market.feed import MarketFeed
from app.market.instrument_master.specs import TradingSpecs
from app.market.instrument_master.store import InstrumentMaster
from app.market.upstox.access_token import AccessToken
from app.market.upstox.errors import TokenUnavailable
from app.predictor.skill import SkillConfig
from app.storage.db import Database
from app.storage.urls import shown
from app.trading.brokers.paper import PaperBroker, PaperConfig
from app.trading.brokers.registry import BrokerRegistry
from app.trading.brokers.upstox import HttpTransport, UpstoxBroker, UpstoxTransport
from app.trading.brokers.upstox_stream import PortfolioStream
from app.trading.costs import CostModel
from app.trading.engine import FlattenOutcome
from app.trading.errors import EngineStateError
from app.trading.gate import LiveGate
from app.trading.journal import Journal, PostgresJournal, SqliteJournal
from app.trading.risk import RiskLimits
from app.trading.service import TradingService
from app.trading.store import TradeStore
from app.trading.strategy import Strategy, StrategyConfig


def build_journal(db: Database) -> Journal:
    """The journal that writes into the relational store's own database: its SQLite file
    directly (sqlite3), or its PostgreSQL database on a connection of its own (asyncpg)."""
    url = make_url(db.url)
    backend = url.get_backend_name()
    if backend == "postgresql":
        return PostgresJournal(db.url)
    if backend == "sqlite" and url.database and url.database != ":memory:":
        return SqliteJournal(Path(url.database))
    raise ValueError(f"the trading journal needs an SQLite file or a PostgreSQL database, not {shown(url)}")


def costs_from(settings: Settings) -> CostModel:
    return CostModel(
        brokerage_pct=settings.hft_cost_brokerage_pct,
        brokerage_cap=settings.hft_cost_brokerage_cap,
        stt_sell_pct=settings.hft_cost_stt_sell_pct,
        exchange_pct=settings.hft_cost_exchange_pct,
        sebi_per_crore=settings.hft_cost_sebi_per_crore,
        gst_pct=settings.hft_cost_gst_pct,
        stamp_buy_pct=settings.hft_cost_stamp_buy_pct,
    )


def round_trip_cost(settings: Settings) -> float:
    """The cost model's round trip on one entry of hft_max_notional_per_trade rupees, as a fraction
    of it: what a long-short forecast figure pays per leg (app/predictor/evaluation.py)."""
    return costs_from(settings).round_trip_fraction(1, settings.hft_max_notional_per_trade)


def strategy_from(settings: Settings) -> StrategyConfig:
    return StrategyConfig(
        min_calibration_n=settings.hft_min_calibration_n,
        min_hit_rate=settings.hft_min_hit_rate,
        cost_multiple=settings.hft_cost_multiple,
        horizons=tuple(settings.hft_horizons),
        stop_vol=settings.hft_stop_vol,
        target_vol=settings.hft_target_vol,
        trail_vol=settings.hft_trail_vol,
        allow_short=settings.hft_allow_short,
        square_off=settings.hft_square_off,
        slippage_bps=settings.hft_slippage_bps,
        skill=SkillConfig(
            alpha=settings.hft_skill_alpha,
            window=settings.hft_skill_window,
            min_resolutions=settings.hft_skill_min_resolutions,
            gate=settings.hft_skill_gate,
        ),
    )


def limits_from(settings: Settings) -> RiskLimits:
    return RiskLimits(
        max_open_trades=settings.hft_max_open_trades,
        risk_per_trade=settings.hft_risk_per_trade,
        max_notional_per_trade=settings.hft_max_notional_per_trade,
        max_notional_total=settings.hft_max_notional_total,
        max_daily_loss=settings.hft_max_daily_loss,
        max_orders_per_second=settings.hft_max_orders_per_second,
        cooldown=settings.hft_cooldown,
    )


def paper_from(settings: Settings) -> PaperConfig:
    return PaperConfig(
        capital=settings.hft_capital, slippage_bps=settings.hft_slippage_bps, fill_ratio=settings.hft_fill_ratio
    )


def build_brokers(
    settings: Settings,
    *,
    journal: Journal,
    store: TradeStore,
    upstox_transport: UpstoxTransport | None = None,
    specs: TradingSpecs | None = None,
) -> BrokerRegistry:
    """`paper` and `upstox` (see `upstox_broker`); `specs`: the paper broker's ticks and lots (the strategy's)."""
    costs = costs_from(settings)
    registry = BrokerRegistry()
    registry.register(
        "paper",
        lambda: PaperBroker(
            config=paper_from(settings), costs=costs, journal=journal, load=store.paper_state, specs=specs
        ),
        live=False,
    )
    registry.register("upstox", lambda: upstox_broker(settings, costs, upstox_transport), live=True)
    return registry


def upstox_broker(settings: Settings, costs: CostModel, transport: UpstoxTransport | None = None) -> UpstoxBroker:
    """Upstox over HTTPS (SIGNALDESK_UPSTOX_BASE_URL, orders on SIGNALDESK_UPSTOX_ORDER_URL) with its
    portfolio stream; a `transport` given replaces the network, and the broker then polls."""
    if transport is not None:
        return UpstoxBroker(transport=transport, costs=costs, market_protection=settings.upstox_market_protection)
    try:
        token: AccessToken | None = AccessToken.of_settings(settings)
    except TokenUnavailable:
        token = None  # the broker says so on connect
    stream = PortfolioStream(
        base_url=settings.upstox_base_url,
        token=token,
        stall_timeout=settings.upstox_stall_timeout,
        reconnect_min=settings.upstox_reconnect_min,
        reconnect_max=settings.upstox_reconnect_max,
    )
    return UpstoxBroker(
        transport=HttpTransport(settings.upstox_base_url, settings.upstox_order_url, token),
        costs=costs,
        stream=stream,
        market_protection=settings.upstox_market_protection,
    )


def build_trading(
    settings: Settings,
    *,
    db: Database,
    bus: EventBus,
    feed: MarketFeed,
    upstox_transport: UpstoxTransport | None = None,
    clock: Clock | None = None,
) -> TradingService:
    journal = build_journal(db)
    store = TradeStore(db)
    specs = TradingSpecs(load=InstrumentMaster(db).trading_specs)  # refreshed when a run starts
    return TradingService(
        bus=bus,
        feed=feed,
        store=store,
        journal=journal,
        brokers=build_brokers(settings, journal=journal, store=store, upstox_transport=upstox_transport, specs=specs),
        gate=LiveGate(settings.live_trading_enabled),
        strategy=Strategy(strategy_from(settings), costs_from(settings), specs),
        limits=limits_from(settings),
        vol_span=settings.hft_vol_span,
        clock=clock,
        broker_check_interval=settings.hft_broker_check_interval,
        reconcile_interval=settings.hft_reconcile_interval,
        broker_stops=settings.hft_broker_stops,
    )


class SquareOff:
    """The `square_off` automation's Flattener: flatten when the engine runs; nothing to do when stopped."""

    def __init__(self, service: TradingService) -> None:
        self.service = service

    async def flatten(self, reason: str) -> FlattenOutcome:
        try:
            return await self.service.flatten(reason)
        except EngineStateError:
            return FlattenOutcome(0, [])
