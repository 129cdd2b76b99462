"""Every REST answer is typed: each JSON route declares a Pydantic response_model, FastAPI checks
every answer against it (a wrong shape is a clear 500 naming the field in the log, never a silent
pass), and a real server's answers match their models, the ones sent as stored bytes included."""

from __future__ import annotations

import logging
import typing
from typing import Any, NamedTuple

import httpx
import pytest
from fastapi import FastAPI, routing
from fastapi.routing import APIRoute
from pydantic import BaseModel

from app.api.errors import install_error_handlers
from app.api.schemas.events import EventPage
from app.api.schemas.health import Health
from app.core.config import Settings
from app.main import create_app
from tests.support.server import ServerProcess

NOT_JSON = {"/metrics", "/api/hft/trades.csv", "/api/hft/orders.csv"}  # Prometheus' text format; CSV books


class Route(NamedTuple):
    path: str
    methods: set[str]
    response_model: Any
    route: APIRoute


def _routes() -> list[Route]:
    """The API's routes, with their routers' prefixes (the dashboard's static route is left out
    of the schema: it serves files)."""
    contexts = routing.iter_route_contexts(create_app(Settings()).routes)
    return [
        Route(c.path, c.methods, c.response_model, c.original_route)
        for c in contexts
        if isinstance(c.original_route, APIRoute) and c.include_in_schema
    ]


def _models(annotation: Any) -> list[Any]:
    """The classes a response_model names: itself, or the item of a list."""
    if typing.get_origin(annotation) is list:
        return list(typing.get_args(annotation))
    return [annotation]


def test_every_json_route_has_a_pydantic_response_model() -> None:
    routes = _routes()
    assert len(routes) > 30
    untyped = []
    for route in routes:
        if route.route.status_code == 204 or route.path in NOT_JSON:
            assert route.response_model is None, route.path
            continue
        models = _models(route.response_model)
        if not all(isinstance(m, type) and issubclass(m, BaseModel) for m in models):
            untyped.append(f"{','.join(sorted(route.methods))} {route.path}: {route.response_model}")
    assert untyped == []


def test_the_openapi_document_describes_every_answer() -> None:
    document = create_app(Settings()).openapi()
    undescribed = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation["responses"].items():
                if code.startswith("2") and code != "204" and path not in NOT_JSON:
                    if "schema" not in response.get("content", {}).get("application/json", {}):
                        undescribed.append(f"{method} {path} {code}")
    assert undescribed == []


def _app_answering(answer: dict[str, Any]) -> FastAPI:
    app = FastAPI()
    install_error_handlers(app)

    @app.get("/wrong", response_model=Health)
    async def wrong() -> dict[str, Any]:
        return answer

    return app


RIGHT = {"status": "ok", "epoch": "e", "head_id": 1, "subscribers": 0, "leader": True, "leader_token": None}


@pytest.mark.parametrize(
    ("answer", "named"),
    [
        ({k: v for k, v in RIGHT.items() if k != "epoch"}, "response.epoch: Field required"),
        ({**RIGHT, "head_id": "1"}, "response.head_id: Input should be a valid integer"),
        ({**RIGHT, "extra": 1}, "response.extra: Extra inputs are not permitted"),
    ],
    ids=["missing", "wrong type", "unknown key"],
)
async def test_a_route_answering_a_wrong_shape_is_a_clear_500(
    answer: dict[str, Any], named: str, caplog: pytest.LogCaptureFixture
) -> None:
    transport = httpx.ASGITransport(app=_app_answering(answer))
    async with httpx.AsyncClient(transport=transport, base_url="http://api.test") as client:
        with caplog.at_level(logging.ERROR, logger="app.api.errors"):
            r = await client.get("/wrong")
    assert r.status_code == 500
    assert r.json() == {"detail": "internal error: the answer did not match its documented shape; see the server log"}
    assert "GET /wrong does not match its response model" in caplog.text and named in caplog.text


def test_a_servers_answers_match_their_models(server: ServerProcess) -> None:
    """Every read without required parameters answers 200 (FastAPI checked it against its
    model); the history page, assembled from stored bytes, is checked here."""
    reads = [
        r.path
        for r in _routes()
        if "GET" in r.methods
        and "{" not in r.path
        and r.path not in NOT_JSON
        and not any(p.field_info.is_required() for p in r.route.dependant.query_params)
    ]
    assert "/api/hft/status" in reads and "/api/automation/schedules" in reads
    for path in reads:
        r = httpx.get(f"{server.http}{path}", timeout=10)
        assert r.status_code == 200, (path, r.text)
    stopped = httpx.get(f"{server.http}/api/hft/status").json()
    assert set(stopped) == {
        *("state", "broker", "safe_mode", "live_trading_enabled", "halted_reason", "brokers", "limits"),
        *("venue", "venue_connected", "open_trades", "broker_kill_switch"),
    }  # a stopped engine's answer leaves a run's counters out, as the service does

    server.publish("hft", "hft.error", {"error": "x"})
    page = httpx.get(f"{server.http}/api/events", params={"channel": "hft"}).json()
    assert EventPage.model_validate(page).events[0].payload == {"error": "x"}
