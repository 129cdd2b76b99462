"""The Pydantic contract equals the user's spec (docs/websocket-contracts.md), field by field."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest

from app.api.contract_examples import EVENT_EXAMPLES, Example
from app.api.ws_channel_models import CONTRACT, CONTROL, ContractValidator, StreamReady
from app.bus.errors import InvalidEvent
from app.bus.subscription import ResumeFailure

SPEC = Path(__file__).parents[2] / "docs" / "websocket-contracts.md"
JSON_TYPES = {"string": {"string"}, "number": {"number", "integer"}, "boolean": {"boolean"}, "object": {"object"}}


def parse_spec() -> dict[str, dict[str, dict[str, tuple[bool, str | None]]]]:
    """channel -> type -> field -> (optional, spec type or None), from the user's part of the doc."""
    text = SPEC.read_text().split("\n---\n")[0]
    spec: dict[str, dict[str, dict[str, tuple[bool, str | None]]]] = {}
    channel = None
    for line in text.splitlines():
        if m := re.match(r"^### (\w+) \(`/api/ws/(\w+)`\)", line):
            assert m[1] == m[2], line
            channel = m[1]
            spec[channel] = {}
        elif channel and (m := re.match(r"^- `([\w.]+)` payload: `\{(.*)\}`", line)):
            fields: dict[str, tuple[bool, str | None]] = {}
            for part in filter(None, (p.strip() for p in m[2].split(","))):
                name, _, typ = (s.strip() for s in part.partition(":"))
                fields[name.rstrip("?")] = (name.endswith("?"), typ or None)
            spec[channel][m[1]] = fields
    return spec


SPEC_EVENTS = parse_spec()


def test_spec_parses_into_the_four_channels_and_21_types() -> None:
    assert list(SPEC_EVENTS) == ["prediction", "automation", "training", "hft"]
    assert sum(len(types) for types in SPEC_EVENTS.values()) == 21


# signaldesk's own types: documented below the contract's part of the doc, never in place of one.
EXTENSIONS = {"hft": {"hft.state"}}


def test_every_channel_and_type_has_a_model_and_no_more() -> None:
    expected = {c: set(t) | EXTENSIONS.get(c, set()) for c, t in SPEC_EVENTS.items()}
    assert {c: set(t) for c, t in CONTRACT.items()} == expected


@pytest.mark.parametrize("type", sorted(t for types in EXTENSIONS.values() for t in types))
def test_every_extension_is_documented_with_its_fields(type: str) -> None:
    channel = type.split(".")[0]
    fields = ", ".join(CONTRACT[channel][type].model_fields)
    assert f"- `{type} {{{fields}}}`" in SPEC.read_text().split("\n---\n")[1]


def _schema_types(prop: dict[str, Any], defs: dict[str, Any]) -> set[str]:
    if "$ref" in prop:
        return _schema_types(defs[prop["$ref"].split("/")[-1]], defs)
    if "anyOf" in prop:
        return set().union(*(_schema_types(p, defs) for p in prop["anyOf"]))
    if prop.get("type") == "array":
        return {f"{t}[]" for t in _schema_types(prop["items"], defs)}
    return {prop["type"]} if "type" in prop else set()


@pytest.mark.parametrize(
    ("channel", "type"), [(c, t) for c, types in SPEC_EVENTS.items() for t in types], ids=lambda v: str(v)
)
def test_fields_optionality_and_types_match_the_spec(channel: str, type: str) -> None:
    model = CONTRACT[channel][type]
    schema = model.model_json_schema(mode="serialization")
    props, required, defs = schema.get("properties", {}), set(schema.get("required", [])), schema.get("$defs", {})
    fields = SPEC_EVENTS[channel][type]
    assert set(props) == set(fields), "fields differ from the spec"
    assert required == {f for f, (optional, _) in fields.items() if not optional}, "optionality differs"
    for name, (_, spec_type) in fields.items():
        if spec_type is None:
            continue
        got = _schema_types(props[name], defs)
        item_type = spec_type.removesuffix("[]")
        allowed = {f"{t}[]" for t in JSON_TYPES[item_type]} if spec_type.endswith("[]") else JSON_TYPES[spec_type]
        assert got and got <= allowed, (name, spec_type, got)


def test_optional_fields_are_left_out_not_null() -> None:
    body = ContractValidator().validate("automation", "automation_run.updated", {"job_id": "j", "progress": 0.5})
    assert body == {"job_id": "j", "progress": 0.5}


def test_producers_are_held_to_the_contract_strictly() -> None:
    validator = ContractValidator()
    with pytest.raises(InvalidEvent) as caught:
        validator.validate(
            "hft", "hft.start", {"broker": "paper", "safe_mode": "true", "live_trading_enabled": 1, "x": 0}
        )
    paths = sorted(p.path for p in caught.value.problems)
    assert paths == ["payload.live_trading_enabled", "payload.safe_mode", "payload.x"]


def test_control_frames_match_the_bus_outcomes() -> None:
    assert set(CONTROL) == {"stream.ready", "stream.heartbeat"}
    reasons = StreamReady.model_json_schema()["properties"]["reason"]["anyOf"][0]["enum"]
    assert set(reasons) == {r.value for r in ResumeFailure}


@pytest.mark.parametrize("example", EVENT_EXAMPLES, ids=lambda e: f"{e.type}{e.variant}")
def test_the_stored_json_form_encodes_as_the_models_dump(example: Example) -> None:
    """`Payload.json_form` (a flat payload's fields copied instead of dumped) gives the bytes
    pydantic's dump gives, for every example of the contract, typed or validated from a mapping."""
    model = CONTRACT[example.channel][example.type].model_validate(example.payload)
    dumped = orjson.dumps(model.model_dump(mode="json"))
    assert orjson.dumps(model.json_form()) == dumped
    assert orjson.dumps(ContractValidator().validate(example.channel, example.type, example.payload)) == dumped
