"""The door: /api/ws/{channel}. Checks who is asking, then moves a channel's bytes to them."""

from __future__ import annotations

import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from app.api.deps import BusDep, SettingsDep, StreamsDep
from app.api.guards import REFUSED, Refusal
from app.api.security import (
    SUBPROTOCOL,
    bearer_from_header,
    bearer_from_subprotocols,
    origin_allowed,
    token_matches,
)
from app.api.ws_codes import CloseCode
from app.api.ws_streams import ChannelStream, StreamRegistry, writer_for
from app.core.config import Settings

router = APIRouter()

_AFTER = re.compile(r"^[0-9]{1,18}$")
_EPOCH = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True, slots=True)
class StreamRequest:
    after: int | None
    epoch: str | None


class Refused(Exception):
    """The connection may not proceed; closed with `code` and a reason a person can read."""

    def __init__(self, code: CloseCode, reason: str) -> None:
        self.code = code
        self.reason = reason


async def accept(websocket: WebSocket) -> None:
    """Accept the upgrade, answering `signaldesk.v1` to a browser that offered it.

    Refusals come after the accept, as close frames with a code and a reason.
    """
    subprotocol = SUBPROTOCOL if SUBPROTOCOL in websocket.scope.get("subprotocols", []) else None
    await websocket.accept(subprotocol=subprotocol)


def check_access(websocket: WebSocket, settings: Settings, streams: StreamRegistry) -> None:
    """Origin, then token, then room: a process holds at most SIGNALDESK_WS_MAX_CONNECTIONS streams."""
    if not origin_allowed(websocket.headers, settings.allowed_origins):
        origin = websocket.headers.get("origin")
        raise Refused(CloseCode.FORBIDDEN_ORIGIN, f"origin {origin} is not allowed; see SIGNALDESK_ALLOWED_ORIGINS")
    expected = settings.token
    presented = bearer_from_header(websocket.headers.get("authorization")) or bearer_from_subprotocols(
        websocket.scope.get("subprotocols", [])
    )
    if expected is not None and not token_matches(expected, presented):
        raise Refused(CloseCode.UNAUTHORIZED, "missing or invalid token")
    if len(streams) >= settings.ws_max_connections:
        REFUSED.labels(Refusal.WS_CONNECTIONS).inc()
        limit = settings.ws_max_connections
        raise Refused(CloseCode.TRY_AGAIN_LATER, f"this server holds {limit} streams already; try again later")


def parse_stream_request(channel: str, websocket: WebSocket, channels: tuple[str, ...]) -> StreamRequest:
    if channel not in channels:
        raise Refused(CloseCode.UNKNOWN_CHANNEL, f"unknown channel {channel!r}; one of {', '.join(channels)}")
    after = websocket.query_params.get("after")
    epoch = websocket.query_params.get("epoch")
    if after is not None and not _AFTER.match(after):
        raise Refused(CloseCode.BAD_REQUEST, f"after={after[:40]!r}: expected a non-negative integer event id")
    if epoch is not None and not _EPOCH.match(epoch):
        raise Refused(CloseCode.BAD_REQUEST, f"epoch={epoch[:40]!r}: expected the epoch from stream.ready")
    return StreamRequest(int(after) if after is not None else None, epoch)


def new_stream(websocket: WebSocket, settings: Settings, channel: str, *, resumable: bool = True) -> ChannelStream:
    return ChannelStream(
        channel,
        writer_for(websocket),
        max_buffer=settings.ws_buffer_bytes,
        heartbeat_interval=settings.heartbeat_interval,
        drain_timeout=settings.ws_stall_timeout,
        resumable=resumable,
    )


@contextlib.asynccontextmanager
async def registered(stream: ChannelStream, streams: StreamRegistry) -> AsyncIterator[None]:
    """Keep `stream` in the registry (heartbeats, shutdown) while the connection lasts."""
    streams.add(stream)
    try:
        yield
    except WebSocketDisconnect:
        pass
    finally:
        streams.discard(stream)
        stream.close(CloseCode.NORMAL, "")


@router.websocket("/api/ws/{channel}")
async def channel_stream(
    websocket: WebSocket, channel: str, settings: SettingsDep, bus: BusDep, streams: StreamsDep
) -> None:
    await accept(websocket)
    try:
        check_access(websocket, settings, streams)
        request = parse_stream_request(channel, websocket, bus.channels)
    except Refused as refused:
        await websocket.close(refused.code, refused.reason)
        return

    stream = new_stream(websocket, settings, channel)
    async with registered(stream, streams):
        subscription = await bus.subscribe(channel, stream, after=request.after, epoch=request.epoch)
        try:
            await refuse_client_messages(websocket, stream)
        finally:
            subscription.close()


async def refuse_client_messages(websocket: WebSocket, stream: ChannelStream) -> None:
    """Streams are one-way: wait for the client to leave; a data frame from it ends the stream."""
    message = await websocket.receive()
    if message["type"] == "websocket.receive":
        stream.close(CloseCode.UNSUPPORTED_DATA, "this stream accepts no client messages")
