"""The machine-readable contract, derived from CONTRACT, CONTROL and EPHEMERAL: JSON Schema, AsyncAPI, fixtures.

Nothing here restates a field: every schema comes from the Pydantic models in `app.events`
(re-exported by `app.api.ws_channel_models`) through `models_json_schema`; the only edits are
removals of clutter (titles, `default: null`, OpenAPI's `discriminator`). `python -m app.api.contract_schema`
writes contracts/ws.schema.json, contracts/asyncapi.json and contracts/fixtures/valid/;
`make contract` runs it and then generates frontend-v2/src/lib/ws.gen.ts from the schema.
"""

from __future__ import annotations

import functools
import json
import shutil
import sys
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, RootModel, create_model
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from app.api.contract_examples import (
    EPHEMERAL_EXAMPLES,
    EVENT_EXAMPLES,
    EXTENSION_EXAMPLES,
    Example,
    control_examples,
)
from app.api.ws_codes import CloseCode
from app.events import (
    CHANNELS,
    CONTRACT,
    CONTROL,
    EPHEMERAL,
    Envelope,
    EpochSeconds,
    JsonObject,
    Payload,
    optional,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://signaldesk.invalid/contracts/ws.schema.json"
ROOT = "WsMessage"
FIXTURE_TS = 1739570000
_DROPPED = frozenset({"title", "discriminator"})
_LITERAL_VALUES = frozenset({"const", "enum", "default", "examples"})

EnvelopeModel = type[BaseModel]
# Every stream a client can open: the bus channels, then the ephemeral streams (no ids, no resume).
STREAMS: tuple[str, ...] = (*CHANNELS, *EPHEMERAL)
_DOC_SUFFIX = {"event": "", "control": " (control frame)", "ephemeral": " (ephemeral)"}
_NULL_ID = {
    "control": "always null: control frames are not stored",
    "ephemeral": "always null: ephemeral streams store nothing",
}


# --- Pydantic models of whole frames, one per (channel, type) ------------------------------


def _kind(channel: str, type: str) -> Literal["event", "control", "ephemeral"]:
    """A stored event (integer id), a control frame, or a frame of an ephemeral stream (id null)."""
    if type in CONTROL:
        return "control"
    return "ephemeral" if channel in EPHEMERAL else "event"


def _envelope(name: str, channel: str, type: str, payload: type[Payload]) -> EnvelopeModel:
    kind = _kind(channel, type)
    if kind == "event":
        id_field: Any = (int, Field(description="event id: one strictly increasing sequence for the whole bus"))
    else:
        id_field = (None, Field(description=_NULL_ID[kind]))
    return create_model(
        name,
        __config__=ConfigDict(strict=True, extra="forbid", frozen=True),
        __doc__=f"`{type}` on /api/ws/{channel}" + _DOC_SUFFIX[kind],
        id=id_field,
        # Literals of run-time values: valid for Pydantic, not expressible to a type checker.
        channel=(Literal[channel], ...),  # type: ignore[arg-type]
        type=(Literal[type], ...),  # type: ignore[arg-type]
        payload=(payload, ...),
        ts=(EpochSeconds, ...),
    )


def envelope_name(channel: str, type: str) -> str:
    """The schema/TypeScript name of a frame: `HftEntryEvent`, `HftStreamReadyFrame`, `MarketBarsFrame`."""
    if type in CONTROL:
        return f"{channel.title()}{CONTROL[type].__name__}Frame"
    if channel in EPHEMERAL:
        return f"{EPHEMERAL[channel][type].__name__}Frame"
    return f"{CONTRACT[channel][type].__name__}Event"


def stream_types(channel: str) -> dict[str, type[Payload]]:
    """Every frame type of one stream (a channel or an ephemeral stream) and its payload model."""
    return {**(CONTRACT.get(channel) or EPHEMERAL[channel]), **CONTROL}


@functools.cache
def envelope_models() -> dict[tuple[str, str], EnvelopeModel]:
    """Every frame a client can receive, keyed (channel, type): per stream its events, then the control frames."""
    models: dict[tuple[str, str], EnvelopeModel] = {}
    for channel in STREAMS:
        for type, payload in stream_types(channel).items():
            models[channel, type] = _envelope(envelope_name(channel, type), channel, type, payload)
    return models


@functools.cache
def message_model() -> type[RootModel[Any]]:
    """`WsMessage`: a union of one union per channel (`HftMessage`, ...), each tagged by `type`."""
    per_channel = []
    for channel in STREAMS:
        members = tuple(m for (c, _), m in envelope_models().items() if c == channel)
        # Unions of models built at run time: valid for Pydantic, not expressible to a type checker.
        root = Annotated[Union[members], Field(discriminator="type")]  # type: ignore[valid-type]  # noqa: UP007 (a runtime tuple)
        doc = f"Every frame of /api/ws/{channel}, tagged by `type`."
        per_channel.append(create_model(f"{channel.title()}Message", __base__=RootModel[root], __doc__=doc))
    doc = "Any frame of any stream (the four channels and `market`): narrow on `channel`, then on `type`."
    return create_model(ROOT, __base__=RootModel[Union[tuple(per_channel)]], __doc__=doc)  # type: ignore[misc, call-overload]  # noqa: UP007


# --- JSON Schema -----------------------------------------------------------------------------


def _clean(node: Any) -> Any:
    """Drop titles, `default: null` and OpenAPI discriminators from a schema, recursively."""
    if isinstance(node, list):
        return [_clean(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _DROPPED or (key == "default" and value is None):
            continue
        if key in ("properties", "$defs", "patternProperties"):
            out[key] = {name: _clean(schema) for name, schema in value.items()}
        elif key in _LITERAL_VALUES:
            out[key] = value
        else:
            out[key] = _clean(value)
    return out


def _definitions(ref_template: str, mode: JsonSchemaMode = "serialization") -> dict[str, Any]:
    """Every frame (`WsMessage` and all it references) plus the untyped `Envelope` readers parse first."""
    _, top = models_json_schema([(message_model(), mode), (Envelope, mode)], ref_template=ref_template)
    defs: dict[str, Any] = _clean(top["$defs"])
    return defs


def message_schema() -> dict[str, Any]:
    """JSON Schema (2020-12) of every frame: one definition per (channel, type), unions per channel."""
    defs = _definitions("#/$defs/{model}")
    root = defs.pop(ROOT)
    return {"$schema": DIALECT, "$id": SCHEMA_ID, "title": ROOT, **root, "$defs": defs}


# --- AsyncAPI --------------------------------------------------------------------------------


class ResumeQuery(BaseModel):
    """Query of /api/ws/{channel}: both or neither (see docs/websocket-contracts.md, "Connecting")."""

    model_config = ConfigDict(extra="forbid")

    after: Annotated[
        optional[Annotated[int, Field(ge=0, lt=10**18)]],
        Field(description="id of the last event processed; every retained event after it follows"),
    ]
    epoch: Annotated[
        optional[Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{1,64}$")]],
        Field(description="the `epoch` of the stream.ready that `after` came from"),
    ]


_SECURITY = {
    "bearerHeader": {
        "type": "http",
        "scheme": "bearer",
        "description": "Programs: `Authorization: Bearer <token>` on the upgrade request.",
    },
    "bearerSubprotocol": {
        "type": "httpApiKey",
        "in": "header",
        "name": "Sec-WebSocket-Protocol",
        "description": "Browsers: offer the subprotocols `signaldesk.v1` and `bearer.<token>`; "
        "the server answers `signaldesk.v1` and never echoes the token.",
    },
}

_INFO = """Live event streams of signaldesk, one WebSocket per channel, and the market stream.

Every frame is one JSON envelope `{id, channel, type, payload, ts}`. The first frame of a
connection is `stream.ready`; `stream.heartbeat` comes on an idle connection. Control frames
have `id: null` and are never stored. A client remembers the epoch and the last event id and
reconnects with `?after=<id>&epoch=<epoch>`. With SIGNALDESK_API_TOKEN set, a missing or wrong
token closes with 4401. Close codes are listed in `x-close-codes`; terminal ones mean: do not
reconnect. `/api/ws/market` is ephemeral: every frame has `id: null`, nothing is stored, there
is no resume (a reconnecting client continues with the next bar). Binding text:
docs/websocket-contracts.md."""


def _close_codes() -> list[dict[str, Any]]:
    return [{"code": int(c), "name": c.name.lower(), "terminal": c.terminal} for c in CloseCode]


def asyncapi_document(*, host: str = "127.0.0.1:8000", version: str = "0.1.0") -> dict[str, Any]:
    """AsyncAPI 3.0 description of the four channels, the market stream, their messages and the control frames."""
    schemas = _definitions("#/components/schemas/{model}")
    query = _clean(ResumeQuery.model_json_schema())
    messages: dict[str, Any] = {}
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    for channel in STREAMS:
        refs: dict[str, Any] = {}
        for (c, type), model in envelope_models().items():
            if c != channel:
                continue
            name = model.__name__
            messages[name] = {
                "name": type,
                "summary": model.__doc__,
                "contentType": "application/json",
                "payload": {"$ref": f"#/components/schemas/{name}"},
            }
            refs[type] = {"$ref": f"#/components/messages/{name}"}
        if channel in EPHEMERAL:
            description = f"Live `{channel}` frames after a `stream.ready`; ephemeral: no ids, no resume."
            binding: dict[str, Any] = {"method": "GET", "bindingVersion": "0.1.0"}
        else:
            description = f"Events of the `{channel}` channel, after a `stream.ready`."
            binding = {"method": "GET", "query": query, "bindingVersion": "0.1.0"}
        channels[channel] = {
            "address": f"/api/ws/{channel}",
            "description": description,
            "messages": refs,
            "bindings": {"ws": binding},
        }
        operations[f"stream{channel.title()}"] = {
            "action": "send",
            "summary": f"The server streams the {channel} channel to each connected client.",
            "channel": {"$ref": f"#/channels/{channel}"},
            "messages": [{"$ref": f"#/channels/{channel}/messages/{type}"} for type in refs],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {"title": "signaldesk streams", "version": version, "description": _INFO},
        "defaultContentType": "application/json",
        "servers": {
            "signaldesk": {
                "host": host,
                "protocol": "ws",
                "description": "A signaldesk server (`signaldesk serve`).",
                "security": [{"$ref": f"#/components/securitySchemes/{name}"} for name in _SECURITY],
            }
        },
        "channels": channels,
        "operations": operations,
        "components": {"schemas": schemas, "messages": messages, "securitySchemes": _SECURITY},
        "x-close-codes": _close_codes(),
    }


# --- fixtures --------------------------------------------------------------------------------


def _fixture(n: int, example: Example) -> tuple[str, JsonObject]:
    model = envelope_models().get((example.channel, example.type))
    if model is None:
        raise ValueError(f"example of unknown {example.channel}/{example.type}")
    stored = _kind(example.channel, example.type) == "event"
    frame = {
        "id": n if stored else None,
        "channel": example.channel,
        "type": example.type,
        "payload": example.payload,
        "ts": FIXTURE_TS + n,
    }
    message = model.model_validate(frame).model_dump(mode="json")
    name = f"{example.type}.{example.variant}.json" if example.variant else f"{example.type}.json"
    return f"valid/{example.channel}/{name}", {"note": example.note, "message": message}


def valid_fixtures() -> dict[str, JsonObject]:
    """Every example as a full envelope, validated through its model; path (under fixtures/) -> fixture."""
    examples = EVENT_EXAMPLES + control_examples(STREAMS) + EPHEMERAL_EXAMPLES + EXTENSION_EXAMPLES
    fixtures: dict[str, JsonObject] = {}
    for n, example in enumerate(examples, start=1):
        path, fixture = _fixture(n, example)
        if path in fixtures:
            raise ValueError(f"two examples write {path}; give one a variant")
        fixtures[path] = fixture
    missing = set(envelope_models()) - {(e.channel, e.type) for e in examples}
    if missing:
        raise ValueError(f"no example of {sorted(missing)}")
    return fixtures


# --- files -----------------------------------------------------------------------------------


def dump(document: object) -> str:
    """The one JSON layout of contracts/: two-space indent, sorted keys, trailing newline."""
    return json.dumps(document, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def write_contracts(directory: Path) -> list[Path]:
    """Write the schema, the AsyncAPI document and the valid fixtures; the valid/ tree is replaced."""
    written = []
    for name, document in (("ws.schema.json", message_schema()), ("asyncapi.json", asyncapi_document())):
        path = directory / name
        path.write_text(dump(document), encoding="utf-8")
        written.append(path)
    valid = directory / "fixtures" / "valid"
    shutil.rmtree(valid, ignore_errors=True)
    for relative, fixture in valid_fixtures().items():
        path = directory / "fixtures" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(dump(fixture), encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str]) -> None:
    directory = Path(argv[1]) if len(argv) > 1 else Path("contracts")
    directory.mkdir(parents=True, exist_ok=True)
    written = write_contracts(directory)
    print(f"wrote {len(written)} files under {directory}/")


if __name__ == "__main__":
    main(sys.argv)
