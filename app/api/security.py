"""Who may talk to the server: the bearer token and, for browsers, the Origin."""

from __future__ import annotations

import hmac
from collections.abc import Mapping, Sequence
from urllib.parse import urlsplit

from fastapi import HTTPException, Request, status

from app.api.deps import SettingsDep

SUBPROTOCOL = "signaldesk.v1"
BEARER_SUBPROTOCOL_PREFIX = "bearer."


def token_matches(expected: str, presented: str | None) -> bool:
    return presented is not None and hmac.compare_digest(expected.encode(), presented.encode())


def bearer_from_header(authorization: str | None) -> str | None:
    if authorization is None:
        return None
    scheme, _, value = authorization.partition(" ")
    return value.strip() if scheme.lower() == "bearer" else None


def bearer_from_subprotocols(subprotocols: Sequence[str]) -> str | None:
    """Browsers cannot set headers on a WebSocket: they offer `bearer.<token>` as a subprotocol."""
    for proto in subprotocols:
        if proto.startswith(BEARER_SUBPROTOCOL_PREFIX):
            return proto[len(BEARER_SUBPROTOCOL_PREFIX) :]
    return None


def origin_allowed(headers: Mapping[str, str], allowed: Sequence[str]) -> bool:
    """No Origin (not a browser), the server's own origin, or one on the allow-list."""
    origin = headers.get("origin")
    if origin is None:
        return True
    origin = origin.rstrip("/")
    if origin in allowed:
        return True
    parts = urlsplit(origin)
    return parts.scheme in ("http", "https") and parts.netloc == headers.get("host")


def require_token(request: Request, settings: SettingsDep) -> None:
    """FastAPI dependency: with a token configured, REST calls need `Authorization: Bearer`."""
    expected = settings.token
    if expected is None:
        return
    if not token_matches(expected, bearer_from_header(request.headers.get("authorization"))):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or invalid bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )
