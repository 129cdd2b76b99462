"""contracts/: the fixtures hold against the Pydantic models and ws.schema.json, and are current.

Valid fixtures (contracts/fixtures/valid/, generated) must pass both; invalid ones
(contracts/fixtures/invalid/, hand-written) must fail both at the `path` they name.
frontend-v2 runs the same fixtures through ws.ts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator, ValidationError
from pydantic import ValidationError as PydanticError

from app.api.contract_schema import (
    STREAMS,
    asyncapi_document,
    dump,
    envelope_models,
    envelope_name,
    message_schema,
    stream_types,
    valid_fixtures,
)
from app.events import EPHEMERAL, Envelope

CONTRACTS = Path(__file__).parents[2] / "contracts"
FIXTURES = CONTRACTS / "fixtures"
SCHEMA = json.loads((CONTRACTS / "ws.schema.json").read_text())


# `optional[]` fields accept null on input and drop it (exclude_if): the schema and ws.ts
# refuse it, as the docs say ("never null"). Reported; remove once the models refuse it too.
def _load(directory: str) -> list[tuple[str, dict[str, Any]]]:
    paths = sorted((FIXTURES / directory).rglob("*.json"))
    return [(str(p.relative_to(FIXTURES)), json.loads(p.read_text())) for p in paths]


VALID = _load("valid")
INVALID = _load("invalid")


def _validator(name: str) -> Draft202012Validator:
    """The schema with its root pointed at one definition (or the whole union for `None`)."""
    return Draft202012Validator({"$schema": SCHEMA["$schema"], "$defs": SCHEMA["$defs"], "$ref": f"#/$defs/{name}"})


def _error_paths(errors: Iterator[ValidationError]) -> set[str]:
    """Dotted paths of schema errors; a missing required field counts at the field's own path."""
    paths = set()
    for error in errors:
        at = [str(part) for part in error.absolute_path]
        if error.validator == "required":
            paths.update(".".join([*at, name]) for name in error.validator_value if name not in error.instance)
        else:
            paths.add(".".join(at))
    return paths


def _pydantic_locs(message: dict[str, Any]) -> set[str]:
    """Dotted locations of what the contract's own models refuse in a frame (empty: accepted)."""
    model = envelope_models()[message["channel"], message["type"]]
    try:
        model.model_validate_json(json.dumps(message))
    except PydanticError as e:
        return {".".join(str(part) for part in err["loc"]) for err in e.errors()}
    return set()


def test_every_channel_and_type_has_a_valid_fixture() -> None:
    covered = {(f["message"]["channel"], f["message"]["type"]) for _, f in VALID}
    expected = {(c, t) for c in STREAMS for t in stream_types(c)}
    assert expected - covered == set(), "run `make contract`, and add an example to app/api/contract_examples.py"
    assert covered - expected == set()


def test_fixtures_on_disk_are_the_generated_ones() -> None:
    on_disk = {name: fixture for name, fixture in VALID}
    assert on_disk == valid_fixtures(), "contracts/fixtures/valid is stale: run `make contract`"


@pytest.mark.parametrize(
    ("name", "generate"), [("ws.schema.json", message_schema), ("asyncapi.json", asyncapi_document)]
)
def test_contract_documents_are_current(name: str, generate: Any) -> None:
    assert (CONTRACTS / name).read_text() == dump(generate()), f"contracts/{name} is stale: run `make contract`"


@pytest.mark.parametrize(("name", "fixture"), VALID, ids=[name for name, _ in VALID])
def test_valid_fixture_passes_models_and_schema(name: str, fixture: dict[str, Any]) -> None:
    message = fixture["message"]
    assert fixture["note"]
    Envelope.model_validate(message)
    payload_model = stream_types(message["channel"])[message["type"]]
    assert payload_model.model_validate(message["payload"]).model_dump(mode="json") == message["payload"]
    assert _pydantic_locs(message) == set()
    assert _error_paths(_validator(envelope_name(message["channel"], message["type"])).iter_errors(message)) == set()
    assert _validator("Envelope").is_valid(message)
    assert Draft202012Validator(SCHEMA).is_valid(message)


@pytest.mark.parametrize(("name", "fixture"), INVALID, ids=[name for name, _ in INVALID])
def test_invalid_fixture_fails_schema_at_its_path(name: str, fixture: dict[str, Any]) -> None:
    message, path = fixture["message"], fixture["path"]
    assert fixture["note"]
    assert not Draft202012Validator(SCHEMA).is_valid(message)
    errors = _validator(envelope_name(message["channel"], message["type"])).iter_errors(message)
    assert path in _error_paths(errors)


@pytest.mark.parametrize(("name", "fixture"), INVALID, ids=[name for name, _ in INVALID])
def test_invalid_fixture_fails_models_at_its_path(name: str, fixture: dict[str, Any]) -> None:
    locs = _pydantic_locs(fixture["message"])
    assert any(loc == fixture["path"] or loc.startswith(fixture["path"] + ".") for loc in locs), locs


def test_ephemeral_frames_have_a_null_id() -> None:
    ephemeral = [(name, f["message"]) for name, f in VALID if f["message"]["channel"] in EPHEMERAL]
    assert {m["type"] for _, m in ephemeral} >= {"market.bars", "stream.ready", "stream.heartbeat"}
    for name, message in ephemeral:
        assert message["id"] is None, name
        assert _validator(envelope_name(message["channel"], message["type"])).is_valid({**message, "id": 1}) is False


def test_invalid_fixtures_name_their_frame_and_problem() -> None:
    assert len(INVALID) >= 20
    for name, fixture in INVALID:
        assert set(fixture) == {"note", "path", "message"}, name
        assert (fixture["message"]["channel"], fixture["message"]["type"]) in envelope_models(), name
