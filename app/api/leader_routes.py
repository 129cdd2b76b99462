"""The routes of the cluster's single-instance duties, answered by the leader whichever process
a request lands on.

In a cluster (Redis bus), only the leader runs the predictor, the trading engine, the scheduler,
the local job runner and the notifier, so their REST routes must reach it. `LeaderRoutes` (an ASGI
middleware) passes such a request through on the leader; on a follower it carries it over the
relay (`app.cluster.relay`) and returns the leader's answer unchanged, status and body. The
leader replays the request through its own app (`answer_on_leader`), so authentication and
validation happen there exactly as for a direct request. No answer in time: 504, saying that
the outcome is unknown and how to check it.
"""

from __future__ import annotations

import base64
from typing import Any

import httpx
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.services import find_services
from app.cluster.relay import RelayTimeout

LEADER_PREFIXES = ("/api/hft", "/api/predictor", "/api/training", "/api/automation", "/api/notify")
RELAYED = "x-signaldesk-relayed"
HOP_BY_HOP = {"content-length", "transfer-encoding", "connection", "host"}


def is_leader_route(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in LEADER_PREFIXES)


class LeaderRoutes:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = find_services(scope["app"]) if "app" in scope else None
        cluster = services.cluster if services is not None else None
        relay = cluster.relay if cluster is not None and not cluster.is_leader else None  # none: a lone server
        if scope["type"] != "http" or relay is None or not is_leader_route(scope["path"]):
            await self.app(scope, receive, send)
            return
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        if any(k == RELAYED for k, _ in headers):
            await _respond(send, 503, {"detail": "this process lost the leadership while answering; retry"})
            return
        request = {
            "method": scope["method"],
            "path": scope["path"],
            "query": scope["query_string"].decode("latin-1"),
            "headers": [(k, v) for k, v in headers if k not in HOP_BY_HOP],
            "body": base64.b64encode(await _read_body(receive)).decode(),
        }
        try:
            answer = await relay.ask(request)
        except RelayTimeout as e:
            detail = f"{e}: the request may or may not have been carried out; check the status and retry"
            await _respond(send, 504, {"detail": detail})
            return
        body = base64.b64decode(answer["body"])
        headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in answer["headers"]]
        headers.append((b"content-length", str(len(body)).encode()))
        await send({"type": "http.response.start", "status": answer["status"], "headers": headers})
        await send({"type": "http.response.body", "body": body})


async def answer_on_leader(app: ASGIApp, request: dict[str, Any]) -> dict[str, Any]:
    """Run a relayed request through this (the leader's) app and return its answer."""
    url = request["path"] + (f"?{request['query']}" if request["query"] else "")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://leader") as client:
        response = await client.request(
            request["method"],
            url,
            headers=[*request["headers"], (RELAYED, "1")],
            content=base64.b64decode(request["body"]),
        )
    return {
        "status": response.status_code,
        "headers": [(k, v) for k, v in response.headers.multi_items() if k.lower() not in HOP_BY_HOP],
        "body": base64.b64encode(response.content).decode(),
    }


async def _read_body(receive: Receive) -> bytes:
    body = b""
    while True:
        message: Message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body", False):
            return body


async def _respond(send: Send, status: int, content: dict[str, Any]) -> None:
    body = orjson.dumps(content)
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})
