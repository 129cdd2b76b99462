"""History and ingest of events: GET/POST /api/events."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Response, status
from pydantic import BaseModel, ConfigDict

from app.api.deps import BusDep, SettingsDep
from app.api.schemas.errors import errors
from app.api.schemas.events import EventPage
from app.api.security import require_token
from app.bus.errors import UnknownChannel
from app.events import SERVICE_OWNED, Envelope

router = APIRouter(
    prefix="/api/events", tags=["events"], dependencies=[Depends(require_token)], responses=errors(401, 422)
)


class EventIn(BaseModel):
    """An event from an external producer: the envelope without `id` and `ts` (the bus assigns them)."""

    model_config = ConfigDict(extra="forbid")

    channel: str
    type: str
    payload: dict[str, Any]


@router.get("", response_model=EventPage, summary="A page of a channel's stored events, oldest first")
async def read_events(
    bus: BusDep,
    channel: Annotated[str, Query(description="prediction, automation, training or hft")],
    after: Annotated[int, Query(ge=0, le=2**62, description="return events with id > after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    head_id = bus.head_id
    try:
        events = await bus.history(channel, after=after, limit=limit)
        floor = await bus.floor(channel)
    except UnknownChannel as e:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT, [{"loc": ["query", "channel"], "msg": str(e)}]
        ) from e
    head = f'{{"epoch":"{bus.epoch}","head_id":{head_id},"floor":{floor},"events":['.encode()
    body = head + b",".join(e.data for e in events) + b"]}"
    return Response(body, media_type="application/json")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Publish one event (validated against the contract); answers it as stored. The types only the "
    "server's services publish (hft.*, predictor.*) are refused (403)",
    response_model=Envelope,
    responses=errors(403, 413),
)
async def create_event(bus: BusDep, settings: SettingsDep, event: EventIn) -> Response:
    # the test rigs' switch never opens this door on a server that may trade live
    if event.type in SERVICE_OWNED and (not settings.events_allow_engine_types or settings.live_trading_enabled):
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"{event.type} is published only by the service that owns it (the trading engine, the predictor); "
            "clients may publish the other types, e.g. prediction.created from a model of their own",
        )
    stored = await bus.publish(event.channel, event.type, event.payload)
    return Response(stored.data, status_code=status.HTTP_201_CREATED, media_type="application/json")
