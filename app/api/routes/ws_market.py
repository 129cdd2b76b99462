"""/api/ws/market: live bars of the market feed, an ephemeral stream (no ids, no resume).

Same door as the channels (origin and token checks, one-way, heartbeats, 4500 when a client
falls too far behind), but nothing is stored: `stream.ready` always says `resumed: false`,
and `after`/`epoch` in the query are ignored. The second frame is the source's `market.status`.
Registered before `/api/ws/{channel}`.
"""

from __future__ import annotations

from fastapi import APIRouter, WebSocket

from app.api.deps import MarketBroadcastDep, SettingsDep, StreamsDep
from app.api.routes.ws import Refused, accept, check_access, new_stream, refuse_client_messages, registered
from app.api.ws_market import CHANNEL

router = APIRouter()


@router.websocket("/api/ws/market")
async def market_stream(
    websocket: WebSocket, settings: SettingsDep, streams: StreamsDep, broadcast: MarketBroadcastDep
) -> None:
    await accept(websocket)
    try:
        check_access(websocket, settings, streams)
    except Refused as refused:
        await websocket.close(refused.code, refused.reason)
        return

    stream = new_stream(websocket, settings, CHANNEL, resumable=False)
    stream.ready(broadcast.outcome())  # before it is registered: ready is always the first frame
    stream.deliver_shared(broadcast.status_message())  # then the source's status, then changes
    async with registered(stream, streams):
        await refuse_client_messages(websocket, stream)
