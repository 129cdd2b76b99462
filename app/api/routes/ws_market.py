"""/api/ws/market: live bars of the market feed, an ephemeral stream (no ids, no resume).

Same door as the channels (origin and token checks, one-way, heartbeats, 4500 when a client
falls too far behind), but nothing is stored: `stream.ready` always says `resumed: false`,
and `after`/`epoch` in the query are ignored. Registered before `/api/ws/{channel}`.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

from app.api.routes.ws import Refused, accept, check_access, refuse_client_messages
from app.api.ws_codes import CloseCode
from app.api.ws_market import CHANNEL, MarketBroadcast
from app.api.ws_streams import ChannelStream, StreamRegistry, writer_for
from app.core.config import Settings

router = APIRouter()


@router.websocket("/api/ws/market")
async def market_stream(websocket: WebSocket) -> None:
    settings: Settings = websocket.app.state.settings
    streams: StreamRegistry = websocket.app.state.streams
    broadcast: MarketBroadcast = websocket.app.state.market_broadcast

    await accept(websocket)
    try:
        check_access(websocket, settings)
    except Refused as refused:
        await websocket.close(refused.code, refused.reason)
        return

    stream = ChannelStream(
        CHANNEL,
        writer_for(websocket),
        max_buffer=settings.ws_buffer_bytes,
        heartbeat_interval=settings.heartbeat_interval,
        drain_timeout=settings.ws_stall_timeout,
        resumable=False,
    )
    stream.ready(broadcast.outcome())  # before it is registered: ready is always the first frame
    streams.add(stream)
    try:
        await refuse_client_messages(websocket, stream)
    except WebSocketDisconnect:
        pass
    finally:
        streams.discard(stream)
        stream.close(CloseCode.NORMAL, "")
