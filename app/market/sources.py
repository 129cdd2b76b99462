"""The market source the settings ask for: a simulated market, a candle replay, Upstox's live feed, or none."""

from __future__ import annotations

import logging
import secrets
from datetime import datetime

from app.core.config import Settings
from app.market.calendar import DAY, NseCalendar
from app.market.candles import CandleStore
from app.market.clock import SimulatedClock, last_session_open
from app.market.feed import BarSource
from app.market.intervals import parse_interval
from app.market.replay import CandleReplay
from app.market.simulated import SimulatedMarket, universe
from app.market.upstox.access_token import AccessToken
from app.market.upstox.source import FeedTiming, UpstoxBarSource
from app.storage.db import Database

log = logging.getLogger(__name__)


def build_source(settings: Settings, *, db: Database, calendar: NseCalendar | None = None) -> BarSource | None:
    """The BarSource of SIGNALDESK_MARKET_*; None when the market is off."""
    calendar = calendar or NseCalendar()
    interval = parse_interval(settings.market_interval)
    if settings.market_source == "off":
        return None
    if settings.market_source == "simulated":
        seed = settings.market_seed if settings.market_seed is not None else secrets.randbelow(2**31)
        start: int | None = settings.market_start_ts
        if start is not None and not isinstance(settings.market_start, datetime):
            start = last_session_open(calendar, start + DAY - 1)  # a date: its session, or the latest before it
        clock = SimulatedClock(start, speed=settings.market_speed, calendar=calendar, anchor=settings.market_anchor)
        log.info(
            "simulated market: seed %d (SIGNALDESK_MARKET_SEED repeats it), %s x%g from %d",
            seed,
            interval.name,
            settings.market_speed,
            int(clock.start),
        )
        return SimulatedMarket(
            clock,
            instruments=universe(settings.market_universe),
            interval=interval,
            seed=seed,
            calendar=calendar,
            edge_bps=settings.market_edge_bps,
        )
    if settings.market_source == "upstox":
        return upstox_source(settings, calendar=calendar)
    return CandleReplay(
        CandleStore(db),
        settings.market_instruments,
        interval,
        start=settings.market_start_ts,
        end=settings.market_end_ts,
        speed=settings.market_speed,
        calendar=calendar,
    )


def upstox_source(settings: Settings, *, calendar: NseCalendar | None = None) -> UpstoxBarSource:
    """The live feed of SIGNALDESK_MARKET_INSTRUMENTS (the settings have checked keys, limits, token)."""
    token = AccessToken.of_settings(settings)
    timing = FeedTiming(
        stall_timeout=settings.upstox_stall_timeout,
        data_timeout=settings.upstox_data_timeout,
        grace=settings.upstox_bar_grace,
        reconnect_min=settings.upstox_reconnect_min,
        reconnect_max=settings.upstox_reconnect_max,
    )
    log.info(
        "upstox live feed: %d instruments, %s mode, %s",
        len(settings.market_instruments),
        settings.upstox_feed_mode,
        settings.upstox_base_url,
    )
    return UpstoxBarSource(
        settings.market_instruments,
        token=token,
        base_url=settings.upstox_base_url,
        mode=settings.upstox_feed_mode,
        timing=timing,
        calendar=calendar,
    )
