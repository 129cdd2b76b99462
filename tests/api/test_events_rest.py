"""REST doors: history pages, ingest with field-level errors, health, OpenAPI; bad input never 500s."""

from __future__ import annotations

import subprocess
import sys

import httpx

from tests.support.server import ServerProcess

ENTRY = {"trade_id": 1, "instrument_key": "NSE_EQ|INE002A01018", "qty": -25, "entry": 2871.35}


def test_ingest_returns_the_stored_envelope_and_history_pages_through_it(server: ServerProcess) -> None:
    r = server.publish("hft", "hft.entry", ENTRY)
    assert r.status_code == 201
    stored = r.json()
    assert stored == {"id": 1, "channel": "hft", "type": "hft.entry", "payload": ENTRY, "ts": stored["ts"]}
    for i in range(4):
        assert server.publish("hft", "hft.error", {"error": str(i)}).status_code == 201
    page = httpx.get(f"{server.http}/api/events", params={"channel": "hft", "after": 1, "limit": 2}).json()
    assert page["head_id"] == 5 and page["floor"] == 0 and len(page["epoch"]) == 16
    assert [e["id"] for e in page["events"]] == [2, 3]
    page = httpx.get(f"{server.http}/api/events", params={"channel": "hft", "after": 3}).json()
    assert [e["payload"] for e in page["events"]] == [{"error": "2"}, {"error": "3"}]


def test_bad_ingest_names_each_field_and_stores_nothing(server: ServerProcess) -> None:
    cases = [
        ({"channel": "hft", "type": "hft.entry", "payload": {**ENTRY, "qty": "10"}}, ["body", "payload", "qty"]),
        ({"channel": "hft", "type": "hft.entry", "payload": {"trade_id": 1}}, ["body", "payload", "instrument_key"]),
        ({"channel": "hft", "type": "hft.nope", "payload": {}}, ["body", "type"]),
        ({"channel": "nope", "type": "hft.error", "payload": {"error": "x"}}, ["body", "channel"]),
        ({"channel": "hft", "type": "hft.error", "payload": {"error": "x"}, "id": 5}, ["body", "id"]),
        ({"channel": "hft", "type": "hft.error"}, ["body", "payload"]),
        ({"channel": "hft", "type": "hft.error", "payload": [1]}, ["body", "payload"]),
    ]
    for body, loc in cases:
        r = httpx.post(f"{server.http}/api/events", json=body)
        assert r.status_code == 422, (body, r.text)
        assert loc in [d["loc"] for d in r.json()["detail"]], (body, r.json())
    r = httpx.post(f"{server.http}/api/events", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert httpx.get(f"{server.http}/api/health").json()["head_id"] == 0


def test_bad_history_queries_are_422(server: ServerProcess) -> None:
    for params in (
        {"channel": "nope"},
        {"channel": "hft", "after": -1},
        {"channel": "hft", "limit": 0},
        {"channel": "hft", "limit": 5000},
        {"channel": "hft", "after": "x"},
        {},
    ):
        r = httpx.get(f"{server.http}/api/events", params=params)
        assert r.status_code == 422, (params, r.text)
        assert r.json()["detail"][0]["loc"][0] == "query"


def test_health_and_openapi(server: ServerProcess) -> None:
    health = httpx.get(f"{server.http}/api/health").json()
    assert health["status"] == "ok" and health["subscribers"] == 0
    paths = httpx.get(f"{server.http}/openapi.json").json()["paths"]
    assert {"/api/events", "/api/health"} <= set(paths)
    assert httpx.get(f"{server.http}/docs").status_code == 200
    server.publish("hft", "hft.error", {"error": "x"})
    metrics = httpx.get(f"{server.http}/metrics").text
    assert 'signaldesk_events_published_total{channel="hft"} 1.0' in metrics


def test_refuses_to_bind_beyond_loopback_without_a_token(tmp_path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--host", "0.0.0.0", "--data-dir", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=30,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert "SIGNALDESK_API_TOKEN" in result.stderr and "Traceback" not in result.stderr
    assert not (tmp_path / "events.sqlite3").exists()


def test_asyncapi_document_is_served(server: ServerProcess) -> None:
    doc = httpx.get(f"{server.http}/api/asyncapi.json").json()
    assert doc["asyncapi"].startswith("3.")
    assert {"prediction", "automation", "training", "hft"} <= set(doc["channels"])
