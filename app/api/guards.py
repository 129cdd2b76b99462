"""What every request must be before it is routed (docs/security.md).

- Its `Host` is one the server answers to: a page on a rebound name (DNS rebinding) is refused.
- A write (POST, PUT, PATCH, DELETE) from a browser comes from the server's own origin or an
  allowed one, and carries a JSON body (a route may name other types): an HTML form cannot
  send one across sites, and a cross-site `fetch` of one needs a preflight that is not granted.
- Writes are rate-limited per bearer token (per client address without one).

Body sizes are capped by FastAPI's `max_body_size` (app.main); the 413s are counted here.
A pure ASGI middleware: it reads no body and never buffers a response.
"""

from __future__ import annotations

import ipaddress
import math
from collections.abc import Mapping, Sequence
from enum import StrEnum

from prometheus_client import Counter
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.api.errors import send_error
from app.api.leader_routes import RELAYED_SCOPE
from app.api.rate_limit import RateLimiter
from app.api.security import bearer_from_header, origin_allowed
from app.core.config import Settings

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
JSON_ONLY = frozenset({"application/json"})
ALWAYS_SERVED = ("localhost", "127.0.0.1", "::1")
UNSPECIFIED = ("0.0.0.0", "::", "")


class Refusal(StrEnum):
    """Why a request or a WebSocket was turned away: the label of REFUSED."""

    HOST = "host"
    ORIGIN = "origin"
    CONTENT_TYPE = "content_type"
    BODY_TOO_LARGE = "body_too_large"
    RATE_LIMITED = "rate_limited"
    WS_CONNECTIONS = "ws_connections"


REFUSED = Counter("signaldesk_requests_refused_total", "Requests and WebSockets refused, by reason", ["reason"])


def hostname_of(host: str) -> str:
    """`Host` without its port: `[::1]:8000` -> `::1`, `Example.COM.:80` -> `example.com`."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].partition("]")[0]
    return host.rpartition(":")[0].rstrip(".") if ":" in host else host.rstrip(".")


class HostAllowList:
    """The names the server answers to: the bound address, loopback, and the configured ones.

    Bound to every interface (0.0.0.0, ::), any IP address is also served: rebinding needs a
    name, and a client that dialled an address is talking to this server on purpose.
    """

    def __init__(self, bound: str, extra: Sequence[str]) -> None:
        self.names = frozenset({bound.lower(), *ALWAYS_SERVED, *(hostname_of(h) for h in extra)})
        self.any_address = bound in UNSPECIFIED

    def serves(self, host: str | None) -> bool:
        """No Host at all (HTTP/1.0, not a browser) is served."""
        if host is None:
            return True
        name = hostname_of(host)
        if name in self.names:
            return True
        if not self.any_address:
            return False
        try:
            ipaddress.ip_address(name)
        except ValueError:
            return False
        return True


class RequestGuards:
    """ASGI middleware: the Host allow-list for every request and WebSocket; origin, content
    type and rate for writes. Requests the cluster's leader replays were checked by the follower.

    :param body_types: media types a write route accepts instead of application/json, by path.
    """

    def __init__(self, app: ASGIApp, *, settings: Settings, body_types: Mapping[str, frozenset[str]]) -> None:
        self.app = app
        self.hosts = HostAllowList(settings.host, settings.allowed_hosts)
        self.origins = list(settings.allowed_origins)
        self.writes = RateLimiter(rate=settings.write_rate, burst=settings.write_burst)
        self.per_token = settings.token is not None
        self.body_types = dict(body_types)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope.get(RELAYED_SCOPE):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        host = headers.get("host")
        if not self.hosts.serves(host):
            REFUSED.labels(Refusal.HOST).inc()
            if scope["type"] == "websocket":  # refused before the handshake: HTTP 403
                await send({"type": "websocket.close", "code": 1008, "reason": "host not served"})
                return
            await send_error(send, 400, f"host {host!r} is not served here; see SIGNALDESK_ALLOWED_HOSTS")
            return
        if scope["type"] == "websocket":
            await self.app(scope, receive, send)
            return
        if scope["method"] in WRITE_METHODS and not await self._write_allowed(scope, headers, send):
            return
        await self.app(scope, receive, _counting_413(send))

    async def _write_allowed(self, scope: Scope, headers: Headers, send: Send) -> bool:
        """Answers the refusal itself when the write may not proceed."""
        if not origin_allowed(headers, self.origins):
            REFUSED.labels(Refusal.ORIGIN).inc()
            detail = f"origin {headers['origin']} may not write here; see SIGNALDESK_ALLOWED_ORIGINS"
            await send_error(send, 403, detail)
            return False
        has_body = headers.get("content-length", "0") != "0" or "transfer-encoding" in headers
        if has_body or "content-type" in headers:
            media_type = headers.get("content-type", "").partition(";")[0].strip().lower()
            accepted = self.body_types.get(scope["path"], JSON_ONLY)
            if media_type not in accepted:
                REFUSED.labels(Refusal.CONTENT_TYPE).inc()
                given = f"Content-Type {media_type}" if media_type else "a body without a Content-Type"
                detail = f"{scope['method']} {scope['path']} takes {' or '.join(sorted(accepted))}, not {given}"
                await send_error(send, 415, detail)
                return False
        wait = self.writes.take(self._caller(scope, headers))
        if wait > 0:
            REFUSED.labels(Refusal.RATE_LIMITED).inc()
            retry = math.ceil(wait)
            detail = (
                f"more than {self.writes.rate:g} writes a second (after a burst of {self.writes.burst}); "
                f"retry in {retry}s (SIGNALDESK_WRITE_RATE)"
            )
            await send_error(send, 429, detail, [(b"retry-after", str(retry).encode())])
            return False
        return True

    def _caller(self, scope: Scope, headers: Headers) -> str:
        """Whose bucket a write comes out of: its bearer token when the server has one, else
        its address (a made-up bearer must not buy a fresh bucket)."""
        if self.per_token:
            return "token:" + (bearer_from_header(headers.get("authorization")) or "")
        client = scope.get("client")
        return "address:" + (client[0] if client else "")


def _counting_413(send: Send) -> Send:
    """`send`, counting the 413s of the body caps (FastAPI's max_body_size, the candle import's)."""

    async def counted(message: Message) -> None:
        if message["type"] == "http.response.start" and message["status"] == 413:
            REFUSED.labels(Refusal.BODY_TOO_LARGE).inc()
        await send(message)

    return counted
