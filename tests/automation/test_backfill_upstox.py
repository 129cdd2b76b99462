"""The `backfill` automation with `source: upstox` on a real server against the fake Upstox:
the recent days not yet stored are fetched; params are refused naming the field."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import httpx
from websockets.asyncio.client import connect

from app.market.calendar import IST
from tests.market.conftest import ist
from tests.market.upstox.fake import FakeUpstox
from tests.support.server import ServerProcess
from tests.support.ws import recv_ready, recv_until

KEY = "NSE_EQ|INE002A01018"
TERMINAL = {"succeeded", "failed", "cancelled"}


def run_ended(ev: list[dict[str, Any]]) -> bool:
    return any(e["type"] == "automation_run.updated" and e["payload"].get("status") in TERMINAL for e in ev)


async def test_backfill_from_upstox_fetches_the_days_not_yet_stored(server_factory, fake: FakeUpstox) -> None:
    today = datetime.now(IST).date()
    days = [today - timedelta(days=n) for n in (9, 8, 7)]
    fake.history[(KEY, "days/1")] = [(ist(f"{d} 00:00"), 10.0, 11.0, 9.0, 10.5, 1000) for d in days]
    env = {
        "SIGNALDESK_MARKET_SOURCE": "off",
        "SIGNALDESK_UPSTOX_BASE_URL": fake.url,
        "SIGNALDESK_UPSTOX_ACCESS_TOKEN": "good-token",
        "SIGNALDESK_UPSTOX_HISTORY_RATE": "50",
    }
    server: ServerProcess = server_factory(env=env)
    server.start()
    base = f"{server.http}/api/automation"
    params = {"source": "upstox", "instruments": [KEY], "interval": "1d", "days": 30}
    async with httpx.AsyncClient() as client, connect(server.ws("automation")) as ws:
        await recv_ready(ws)
        r = await client.post(f"{base}/runs", json={"kind": "backfill", "params": params})
        assert r.status_code == 202, r.text
        final = (await recv_until(ws, run_ended))[-1]["payload"]
        assert final["status"] == "succeeded", final
        assert final["stats"]["rows"] == 3 and final["stats"]["written"] == 3
        assert fake.history_requests == [(KEY, "days/1", str(today - timedelta(days=30)), str(today))]
        candles = (
            await client.get(f"{server.http}/api/candles", params={"instrument_key": KEY, "interval": "1d"})
        ).json()
        assert [c["ts"] for c in candles["candles"]] == [ist(f"{d} 09:15") for d in days]

        fake.history_requests.clear()  # again: from the last stored day on
        r = await client.post(f"{base}/runs", json={"kind": "backfill", "params": params})
        final = (await recv_until(ws, run_ended))[-1]["payload"]
        assert final["status"] == "succeeded" and final["stats"]["written"] == 0, final
        assert fake.history_requests == [(KEY, "days/1", str(days[-1]), str(today))]

        fake.history_error = (400, "UDAPI1021", "Instrument key is invalid")
        r = await client.post(f"{base}/runs", json={"kind": "backfill", "params": params})
        final = (await recv_until(ws, run_ended))[-1]["payload"]
        assert final["status"] == "failed" and "Instrument key is invalid (UDAPI1021)" in final["error"], final

        for bad, message in [
            ({"source": "upstox", "path": "/tmp/x.csv"}, "path: only for source 'file'"),
            ({"source": "file", "path": "/tmp/x.csv", "instruments": [KEY], "tz": "Mars/Base"}, "Mars/Base"),
            ({"source": "yahoo"}, "'simulated', 'file' or 'upstox'"),
        ]:
            r = await client.post(f"{base}/runs", json={"kind": "backfill", "params": bad})
            assert r.status_code == 422 and message in r.text, r.text
