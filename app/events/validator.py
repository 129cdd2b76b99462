"""The bus's validator: every payload is checked against CONTRACT before it is queued."""

from __future__ import annotations

from pydantic import ValidationError

from app.bus.errors import InvalidEvent, Problem
from app.events.payload import JsonObject, Payload
from app.events.registry import CHANNELS, CONTRACT


class ContractValidator:
    """Plugs into the bus as its PayloadValidator.

    A typed event (the producers' way) was validated when it was built: it is checked to be
    the channel's model of that type and dumped. A mapping (`POST /api/events`) is validated.
    Either way the stored payload is the model's JSON form, so both give the same bytes.
    """

    channels: tuple[str, ...] = CHANNELS

    def validate(self, channel: str, type: str, payload: object) -> JsonObject:
        types = CONTRACT.get(channel)
        if types is None:
            known = ", ".join(CHANNELS)
            raise InvalidEvent(channel, type, [Problem(("channel",), f"unknown channel; one of {known}")])
        model = types.get(type)
        if model is None:
            known = ", ".join(types)
            raise InvalidEvent(channel, type, [Problem(("type",), f"unknown type on {channel!r}; one of {known}")])
        if isinstance(payload, Payload):
            if payload.__class__ is not model:
                problem = Problem(("payload",), f"a {payload.__class__.__name__} is not a {model.__name__}")
                raise InvalidEvent(channel, type, [problem])
            return payload.json_form()
        try:
            return model.model_validate(payload).json_form()
        except ValidationError as e:
            problems = [Problem(("payload", *err["loc"]), err["msg"]) for err in e.errors(include_url=False)]
            raise InvalidEvent(channel, type, problems) from e
