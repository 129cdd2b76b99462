"""The dashboard route: files and the SPA fallback, the API never shadowed, a hint while unbuilt; GET /api/market."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
from fastapi import APIRouter, FastAPI

from app.api.routes.web import build_router
from tests.support.server import ServerProcess

INDEX = "<!doctype html><div id=root></div>"


def _dist(tmp_path: Path) -> Path:
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log(1)")
    (dist / "favicon.svg").write_text("<svg/>")
    (tmp_path / "secret.txt").write_text("no")
    return dist


def _app(dist: Path) -> FastAPI:
    app = FastAPI()
    app.include_router(build_router(dist))
    later = APIRouter()  # a router included after the dashboard's still gets its paths

    @later.get("/api/later")
    async def read_later() -> dict[str, bool]:
        return {"ok": True}

    @later.get("/metrics")
    async def read_metrics() -> str:
        return "metrics"

    app.include_router(later)
    return app


def _client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://signaldesk.test")


async def test_files_app_routes_and_the_api_beside_them(tmp_path: Path) -> None:
    async with _client(_app(_dist(tmp_path))) as client:
        r = await client.get("/")
        assert r.status_code == 200 and r.text == INDEX and r.headers["cache-control"] == "no-cache"
        r = await client.get("/assets/index-abc123.js")
        assert r.text == "console.log(1)" and "immutable" in r.headers["cache-control"]
        assert (await client.get("/favicon.svg")).text == "<svg/>"
        for route in ("/trading", "/predictor/NSE_EQ%7CINE002A01018", "/events?channel=hft"):
            assert (await client.get(route)).text == INDEX, route
        assert (await client.get("/api/later")).json() == {"ok": True}
        assert (await client.get("/metrics")).json() == "metrics"
        for path in ("/api/nope", "/api", "/docs/x", "/metrics/x", "/assets/missing.js"):
            r = await client.get(path)
            assert r.status_code == 404 and r.headers["content-type"] == "application/json", path
        assert (await client.get("/openapi.json")).json()["openapi"]  # FastAPI's own, not the app
        assert (await client.get("/docs")).text != INDEX
        assert (await client.get("/../secret.txt")).text != "no"
        assert (await client.get("/%2e%2e/secret.txt")).text != "no"
        assert (await client.head("/")).status_code == 200


async def test_unbuilt_dashboard_says_how_to_build_it(tmp_path: Path) -> None:
    async with _client(_app(tmp_path / "missing")) as client:
        r = await client.get("/")
        assert r.status_code == 503 and "make run" in r.text and "npm run build" in r.text
        assert (await client.get("/api/later")).json() == {"ok": True}


def test_the_real_server_keeps_its_docs_metrics_and_api(server: ServerProcess) -> None:
    assert httpx.get(f"{server.http}/openapi.json").json()["info"]["title"] == "signaldesk"
    assert "swagger" in httpx.get(f"{server.http}/docs").text.lower()
    assert httpx.get(f"{server.http}/metrics").text.startswith("#")
    assert httpx.get(f"{server.http}/api/nope").status_code == 404
    assert httpx.get(f"{server.http}/api/health").json()["status"] == "ok"
    assert httpx.get(f"{server.http}/").status_code in (200, 503)  # built or not, `/` answers


def test_market_rest_gives_the_stream_s_payloads(server_factory) -> None:  # type: ignore[no-untyped-def]
    server = server_factory(env={"SIGNALDESK_MARKET_SPEED": "3000", "SIGNALDESK_MARKET_SEED": "3"})
    server.start()
    market: dict = {}
    for _ in range(200):
        market = httpx.get(f"{server.http}/api/market", params={"limit": 5}).json()
        if len(market["bars"]) == 5:
            break
        time.sleep(0.05)
    assert market["state"] == "running" and market["interval"] == "1m"
    assert len(market["instruments"]) == 5 and len(market["bars"]) == 5
    closes = [b["close_ts"] for b in market["bars"]]
    assert closes == sorted(closes)
    first = market["bars"][0]
    assert set(first) == {"interval", "ts", "close_ts", "bars"}
    assert set(first["bars"][0]) == {"instrument_key", "open", "high", "low", "close", "volume"}
    assert httpx.get(f"{server.http}/api/market", params={"limit": 0}).json()["bars"] == []
    assert httpx.get(f"{server.http}/api/market", params={"limit": -1}).status_code == 422
