"""SIGNALDESK_MARKET_SOURCE=upstox: what the settings refuse, by name, and the feed addresses accepted."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from app.core.config import Settings
from app.market.calendar import NseCalendar
from app.market.sources import build_source
from app.market.upstox.errors import UnsafeFeedAddress
from app.market.upstox.rest import check_feed_address
from app.market.upstox.source import UpstoxBarSource
from app.storage.db import Database

KEYS = [f"NSE_EQ|SIM{i:05d}" for i in range(5001)]


def settings(**values: Any) -> Settings:
    base: dict[str, Any] = {"market_source": "upstox", "upstox_access_token": "a-token", "market_instruments": KEYS[0]}
    return Settings(**{**base, **values})


def refused(**values: Any) -> str:
    with pytest.raises(ValidationError) as info:
        settings(**values)
    return str(info.value)


def test_subscription_limits_are_checked_at_start() -> None:
    message = refused(market_instruments=",".join(KEYS[:2001]))
    assert "SIGNALDESK_MARKET_INSTRUMENTS has 2,001 keys" in message and "full mode takes at most 2,000" in message
    assert len(settings(market_instruments=",".join(KEYS[:2000])).market_instruments) == 2000
    assert len(settings(market_instruments=",".join(KEYS[:5000]), upstox_feed_mode="ltpc").market_instruments) == 5000
    message = refused(market_instruments=",".join(KEYS), upstox_feed_mode="ltpc")
    assert "5,001 keys" in message and "ltpc mode takes at most 5,000" in message
    with pytest.raises(ValueError, match="at most 2000"):
        UpstoxBarSource(KEYS[:2001], token=None, base_url="https://api.upstox.com")  # type: ignore[arg-type]


def test_what_the_upstox_source_needs_is_named() -> None:
    assert "needs SIGNALDESK_MARKET_INSTRUMENTS" in refused(market_instruments="")
    assert "SIGNALDESK_MARKET_INSTRUMENTS: invalid instrument key 'RELIANCE!'" in refused(
        market_instruments="RELIANCE!"
    )
    assert settings(market_instruments="RELIANCE,NSE_INDEX:NIFTY").market_instruments == ["RELIANCE", "NSE_INDEX:NIFTY"]
    assert "names an instrument twice" in refused(market_instruments=f"{KEYS[0]},{KEYS[0]}")
    assert "SIGNALDESK_MARKET_INTERVAL=5m: the Upstox source builds 1m bars only" in refused(market_interval="5m")
    message = refused(upstox_access_token=None)
    assert "SIGNALDESK_UPSTOX_ACCESS_TOKEN or SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE (exactly one)" in message
    assert "exactly one" in refused(upstox_access_token_file="/tmp/token")
    assert "plain http:// only for a loopback address" in refused(upstox_base_url="http://api.upstox.com")
    assert "upstox_feed_mode" in refused(upstox_feed_mode="option_greeks")


def test_build_source_gives_the_live_feed(tmp_path: Path, calendar: NseCalendar) -> None:
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'x.sqlite3'}")
    source = build_source(settings(upstox_feed_mode="ltpc"), db=db, calendar=calendar)
    assert isinstance(source, UpstoxBarSource)
    assert source.instruments == (KEYS[0],) and source.interval.name == "1m" and source.mode == "ltpc"
    assert source.token.read() == "a-token" and source.base_url == "https://api.upstox.com"


def test_plain_ws_feed_addresses_only_for_a_loopback_base_url() -> None:
    assert check_feed_address("wss://feed.upstox.com/v3?code=1", "https://api.upstox.com")
    assert check_feed_address("ws://127.0.0.1:9/feed?code=1", "http://127.0.0.1:9")
    assert check_feed_address("ws://localhost:9/feed", "http://localhost:9")
    with pytest.raises(UnsafeFeedAddress, match="a wss:// address is required"):
        check_feed_address("ws://feed.upstox.com/v3?code=1", "https://api.upstox.com")
    with pytest.raises(UnsafeFeedAddress):
        check_feed_address("https://feed.upstox.com/v3", "https://api.upstox.com")
