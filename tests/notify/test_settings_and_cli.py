"""The doors of the notifier: its settings (bad ones refused at start, naming the value),
`signaldesk notify test`, and a real `signaldesk serve` sending an alert and showing it in
GET /api/notify/status and /metrics."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from app.cli import cli
from app.core.config import Settings
from tests.notify.receiver import Receiver
from tests.support.waits import polled


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({"notify_urls": "json://127.0.0.1:9/a, not a url"}, "'not a url' is not a notification URL"),
        ({"notify_events": "entry,halts"}, "unknown alert kind 'halts'"),
    ],
)
def test_bad_settings_are_refused_naming_the_value(settings: dict[str, Any], named: str) -> None:
    with pytest.raises(ValidationError, match=named):
        Settings(**settings)


def test_notify_events_select_kinds() -> None:
    assert Settings(notify_events="Entry, halt").notify_events == ["entry", "halt"]
    assert "daily_summary" in Settings().notify_events


def test_signaldesk_notify_test_sends_once_and_says_how_it_went(receiver: Receiver, tmp_path: Path) -> None:
    runner = CliRunner()
    env = {"SIGNALDESK_NOTIFY_URLS": receiver.url, "SIGNALDESK_DATA_DIR": str(tmp_path)}
    done = runner.invoke(cli, ["notify", "test"], env=env)
    assert done.exit_code == 0, done.output
    assert done.stdout.strip() == f"sent: {receiver.url}"
    assert [m["title"] for m in receiver.messages] == ["signaldesk test"]

    receiver.fail(1)
    failed = runner.invoke(cli, ["notify", "test"], env=env)
    assert failed.exit_code == 1 and "error=500" in failed.stderr and f"failed: {receiver.url}" in failed.stderr
    assert receiver.failed == 1 and len(receiver.messages) == 1  # one try, no retries

    unset = runner.invoke(cli, ["notify", "test"], env={"SIGNALDESK_NOTIFY_URLS": ""})
    assert unset.exit_code == 2 and "SIGNALDESK_NOTIFY_URLS is not set" in unset.stderr


def test_a_server_sends_an_alert_and_shows_it(server_factory: Any, receiver: Receiver) -> None:
    env = {
        "SIGNALDESK_NOTIFY_URLS": receiver.url,
        "SIGNALDESK_NOTIFY_EVENTS": "halt,exit",
        "SIGNALDESK_MARKET_SOURCE": "off",
    }
    server = server_factory(env=env)
    server.start(timeout=60)
    state = {"state": "halted", "halted_reason": "halted by request", "safe_mode": True}
    assert server.publish("hft", "hft.state", {**state, "live_trading_enabled": False, "broker": "paper"}).is_success
    entry = {"trade_id": 1, "instrument_key": "NSE_EQ|INE002A01018", "qty": 1, "entry": 2900.0}
    assert server.publish("hft", "hft.entry", entry).is_success  # not a selected kind
    polled_status: dict[str, Any] = {}

    def sent() -> bool:
        polled_status.update(httpx.get(f"{server.http}/api/notify/status").json())
        return polled_status["sent"] == 1

    asyncio.run(polled(sent))
    assert [m["title"] for m in receiver.messages] == ["trading engine halted"]
    assert polled_status == {
        "configured": True,
        "running": True,
        "kinds": ["exit", "halt"],
        "sent": 1,
        "failed": 0,
        "retries": 0,
        "last_failure": None,
        "destinations": [
            {"url": receiver.url, "sent": 1, "failed": 0, "retries": 0, "pending": 0, "last_failure": None}
        ],
    }
    metrics = httpx.get(f"{server.http}/metrics").text
    assert 'signaldesk_notify_sent_total{kind="halt"} 1.0' in metrics
