"""The notifier on a real bus, engine and database, sending through apprise to a real HTTP
endpoint on loopback (`json://`): each kind once, batching, retries, a hanging endpoint, no URL."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from prometheus_client import REGISTRY

from app.bus.redis_bus import RedisEventBus
from app.events import (
    AutomationRunStarted,
    AutomationRunUpdated,
    ContractValidator,
    HftBroker,
    HftEntry,
    HftError,
    HftExit,
    HftStart,
    HftState,
    MarketStatus,
    TrainingFailed,
    TrainingStarted,
    TrainingSucceeded,
    publish,
)
from app.market.feed import MarketFeed
from app.notify.kinds import SELECTABLE
from app.notify.notifier import CHANNELS, Notifier
from app.notify.sender import Destination
from app.storage.db import Database
from app.trading.service import broker_not_answering
from app.trading.store import TradeStore
from tests.notify.conftest import Desk, notifying_desk
from tests.notify.receiver import Receiver
from tests.support.services import REDIS_URL, delete_keys
from tests.support.waits import polled
from tests.trading.stubs import INFY, RELIANCE, TCS, at

PRICES = {RELIANCE: 2900.0, TCS: 3900.0, INFY: 1500.0}


def halted(reason: str) -> HftState:
    return HftState(state="halted", halted_reason=reason, safe_mode=True, live_trading_enabled=False, broker="paper")


def market(status: str, *, error: str | None = None, warning: str | None = None) -> MarketStatus:
    return MarketStatus(
        source="upstox",
        status=status,  # type: ignore[arg-type]
        since=0,
        error=error,
        segment=None,
        gap=None,
        connections=1,
        last_bar_close=None,
        token_expires_at=None,
        warning=warning,
    )


def counted(name: str, kind: str) -> float:
    return REGISTRY.get_sample_value(name, {"kind": kind}) or 0.0


async def arrived(receiver: Receiver, n: int, timeout: float = 10.0) -> list[dict[str, str]]:
    await polled(lambda: len(receiver.messages) >= n, timeout)
    return receiver.messages


async def test_every_kind_once_from_a_trading_day(desk: Desk, receiver: Receiver) -> None:
    rig, bus = desk.rig, desk.rig.bus
    await rig.service.start()  # hft.start, hft.broker and hft.state running: no alert
    await rig.warm(PRICES)
    await rig.predict(RELIANCE, 0.01)
    await rig.bar(PRICES)
    assert (await arrived(receiver, 1))[0]["title"] == "trade entered"
    await rig.service.halt("halted by a test")
    await arrived(receiver, 2)
    rig.now = at(15, 14)  # the bar closing at 15:15 IST: the engine squares off, the summary follows
    await rig.bar(PRICES)
    await arrived(receiver, 4)
    await publish(bus, HftError(error=broker_not_answering("upstox", "HTTP 503", 15.0)))  # the broker watch's words
    await publish(bus, HftStart(broker="paper", safe_mode=True, live_trading_enabled=False), HftBroker(broker="paper"))
    await publish(bus, HftBroker(broker="upstox"))
    await publish(bus, TrainingStarted(job_id="j1", kind="lgbm", instrument_key=RELIANCE, interval="1m"))
    await publish(bus, TrainingFailed(job_id="j1", error="too little data"))
    await publish(bus, TrainingSucceeded(job_id="j2", result={"promoted": False, "model_kind": "ridge:m1"}))
    result = {"promoted": True, "model_kind": "lgbm:m2", "instrument_key": TCS, "interval": "1m", "decision": "beats"}
    await publish(bus, TrainingSucceeded(job_id="j3", result=result))
    await publish(bus, AutomationRunStarted(job_id="a1", kind="backfill", params={}))
    await publish(bus, AutomationRunUpdated(job_id="a1", status="failed", error="upstox answered 500"))
    await arrived(receiver, 9)  # the bus's alerts, before the market's (they are made on another path)
    for status in [
        market("live"),
        market("reconnecting", error="feed closed: 1006"),
        market("live"),
        market("live", warning="the Upstox access token expires at 03:30 IST"),
        market("token_expired", error="token expired or invalid", warning="the Upstox access token expired at 03:30"),
        market("token_expired", error="token expired or invalid", warning="the Upstox access token expired at 03:30"),
    ]:
        desk.notifier.on_market_status(status)  # the repeated token_expired: the same episode, told once
    desk.notifier.on_market_status(market("live"))  # the feed back after the token: the last alert
    await arrived(receiver, 14)
    assert receiver.titles[-2:] == ["Upstox access token expired", "market feed reconnected"]
    messages = {m["title"]: m for m in receiver.messages[:-1]}
    summary_title = next(t for t in messages if t.startswith("daily summary 2025-11-25: "))
    assert len(messages) == 13 and set(messages) - {summary_title} == {
        "trade entered",
        "trading engine halted",
        "trade closed",
        "broker upstox is not answering",
        "broker upstox reconnected",
        "training lgbm NSE_EQ|INE002A01018 1m failed",
        "model promoted: lgbm:m2",
        "automation backfill failed",
        "market feed disconnected",
        "market feed reconnected",
        "Upstox access token expiring",
        "Upstox access token expired",
    }
    exit_line = messages["trade closed"]["message"]
    assert exit_line.startswith("#1 closed NSE_EQ|INE002A01018") and "(square_off)" in exit_line
    trade = (await rig.service.store.trades())[0]
    won = (trade.pnl or 0.0) > 0
    assert summary_title == f"daily summary 2025-11-25: ₹{trade.pnl:+,.2f} over 1 trade"
    assert messages[summary_title]["message"].splitlines() == [
        f"PnL ₹{trade.pnl:+,.2f} net of charges, 1 trade",
        f"win rate {100 if won else 0}% ({int(won)} of 1)",
        f"best #1 {RELIANCE} ₹{trade.pnl:+,.2f}",
        f"worst #1 {RELIANCE} ₹{trade.pnl:+,.2f}",
        f"charges ₹{trade.entry_charges + trade.exit_charges:,.2f}",
    ]
    halt = messages["trading engine halted"]
    assert "halted by a test" in halt["message"] and halt["type"] == "failure"
    assert "too little data" in messages["training lgbm NSE_EQ|INE002A01018 1m failed"]["message"]
    assert "beats" in messages["model promoted: lgbm:m2"]["message"]


def entry(trade_id: int, key: str, qty: int) -> HftEntry:
    return HftEntry(trade_id=trade_id, instrument_key=key, qty=qty, entry=PRICES[key])


async def test_entries_and_exits_close_together_are_one_message(desk: Desk, receiver: Receiver) -> None:
    bus = desk.rig.bus
    await publish(bus, entry(1, RELIANCE, 10), entry(2, TCS, -5), entry(3, INFY, 20))
    await publish(bus, HftExit(trade_id=1, instrument_key=RELIANCE, price=2910.0, pnl=80.5, reason="target"))
    (message,) = await arrived(receiver, 1)
    assert message["title"] == "3 entries, 1 exit"
    assert message["message"].splitlines() == [
        f"#1 entered long 10 {RELIANCE} at ₹2,900.00",
        f"#2 entered short 5 {TCS} at ₹3,900.00",
        f"#3 entered long 20 {INFY} at ₹1,500.00",
        f"#1 closed {RELIANCE} at ₹2,910.00 (target): ₹+80.50",
    ]


async def test_a_failing_endpoint_is_retried_counted_and_a_lost_alert_shown(desk: Desk, receiver: Receiver) -> None:
    bus, notifier = desk.rig.bus, desk.notifier
    retried, failed = (
        counted("signaldesk_notify_retries_total", "halt"),
        counted("signaldesk_notify_failed_total", "halt"),
    )
    receiver.fail(2)  # 500, 500, then 200
    await publish(bus, halted("daily loss limit reached"))
    (message,) = await arrived(receiver, 1)
    assert "daily loss limit reached" in message["message"]
    await polled(lambda: notifier.status().destinations[0].sent == 1)  # counted once the answer is read
    status = notifier.status().destinations[0]
    assert (status.sent, status.retries, status.failed, status.last_failure) == (1, 2, 0, None)
    assert counted("signaldesk_notify_retries_total", "halt") == retried + 2

    receiver.fail(4)  # more than the 3 retries: given up on, and it shows
    await publish(bus, halted("order 7 outcome unknown"))
    await polled(lambda: notifier.status().destinations[0].failed == 1)
    status = notifier.status().destinations[0]
    assert status.last_failure is not None and status.last_failure.title == "trading engine halted"
    assert "error=500" in status.last_failure.reason and status.url in status.last_failure.url
    assert counted("signaldesk_notify_failed_total", "halt") == failed + 1
    assert receiver.failed == 6 and len(receiver.messages) == 1


async def test_a_hanging_endpoint_never_holds_up_the_engine(tmp_path: Path, receiver: Receiver) -> None:
    desk = await notifying_desk(tmp_path, receiver, notify_retries=8)  # tries enough to outlast the hang
    rig = desk.rig
    try:
        await rig.service.start()
        receiver.hang()
        await publish(rig.bus, TrainingFailed(job_id="j9", error="worker died"))
        await polled(lambda: receiver.held == 1)
        await rig.warm(PRICES)
        await rig.predict(RELIANCE, 0.01)
        await rig.bar(PRICES)  # returns once the engine has entered (rig.settled)
        entered = [e for t, e in rig.watch.events if t == "hft.entry"]
        assert entered and receiver.held >= 1 and receiver.messages == []  # the entry went out while the alert hung
        receiver.release()
        messages = await arrived(receiver, 2)
        assert [m["title"] for m in messages] == ["training failed", "trade entered"]
        assert desk.notifier.status().destinations[0].retries >= 1
    finally:
        await desk.close()


async def test_nothing_is_sent_without_a_url(tmp_path: Path, receiver: Receiver) -> None:
    desk = await notifying_desk(tmp_path, None)
    try:
        status = desk.notifier.status()
        assert (status.configured, status.running, status.destinations) == (False, False, [])
        assert desk.rig.bus.subscriber_count("training") == 0  # nothing even listens
        await publish(desk.rig.bus, halted("halted by request"), entry(1, RELIANCE, 10))
        await desk.rig.service.start()
        await desk.rig.service.halt("halted by request")
        assert receiver.messages == [] and receiver.failed == 0
    finally:
        await desk.close()


async def test_the_broker_watch_lost_and_back_are_alerts(tmp_path: Path, receiver: Receiver) -> None:
    desk = await notifying_desk(tmp_path, receiver, live_trading_enabled=True, hft_broker_check_interval=0.05)
    rig = desk.rig
    try:
        await rig.service.start("upstox", safe_mode=False)  # hft.start with hft.broker: a start, no alert
        rig.fake.unavailable = True
        await arrived(receiver, 1)
        rig.fake.unavailable = False
        messages = await arrived(receiver, 2)
        assert [m["title"] for m in messages] == ["broker upstox is not answering", "broker upstox reconnected"]
        assert "Service Unavailable" in messages[0]["message"] and messages[0]["type"] == "failure"
    finally:
        await desk.close()


async def test_a_replaced_event_log_is_followed(tmp_path: Path, receiver: Receiver, redis_prefix: str) -> None:
    bus = RedisEventBus(REDIS_URL, ContractValidator(), prefix=redis_prefix, block_ms=100)
    await bus.start()
    db = Database(f"sqlite+aiosqlite:///{tmp_path / 'unused.sqlite3'}")  # the summary's; no bars here
    notifier = Notifier(
        [Destination(receiver.url, timeout=0.5, retries=1, backoff=0.05)],
        SELECTABLE,
        bus=bus,
        feed=MarketFeed(),
        market_status=None,
        trades=TradeStore(db),
        batch_window=0.2,
        square_off=time(15, 15),
        summary_wait=0.0,
    )
    try:
        await notifier.start()
        await publish(bus, halted("before"))
        await arrived(receiver, 1)
        epoch = bus.epoch
        delete_keys(redis_prefix)  # what a Redis without persistence does on a restart
        await polled(lambda: bus.epoch != epoch and all(bus.subscriber_count(c) == 1 for c in CHANNELS))
        await publish(bus, halted("after"))
        messages = await arrived(receiver, 2)
        assert "after" in messages[1]["message"]
    finally:
        await notifier.stop()
        await bus.close()
        await db.close()
