"""The base of every payload and the field types the contract shares.

Binding source: docs/websocket-contracts.md. Field names, optionality and types are exactly
the spec's; where the spec leaves a type open (`id`, `pred_ret`, ...) the choice is
documented in docs/websocket-contracts.md ("Field types"). Producers are held to the
contract strictly (no coercion, no extra fields); readers (ws.ts) tolerate extra fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, Self, TypeAlias, TypeVar

from pydantic import BaseModel, ConfigDict, Field


def _is_none(value: object) -> bool:
    return value is None


_T = TypeVar("_T")

if TYPE_CHECKING:
    # What a reader of the model sees: the attribute is None when the field was left out.
    optional: TypeAlias = _T | None
else:

    class optional:
        """`optional[T]`: a field the spec marks `?`: may be absent (left out of the JSON), never `null`.

        The default None is not validated, so leaving the field out works while an explicit
        `null` from a producer fails validation like any other wrong type.
        """

        def __class_getitem__(cls, annotation: Any) -> Any:
            return Annotated[annotation, Field(default=None, exclude_if=_is_none)]


class Payload(BaseModel):
    """Base of every payload: strict types, unknown fields refused, immutable."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)

    @classmethod
    def trusted(cls, fields: dict[str, Any]) -> Self:
        """The model over `fields` (every field, taken, not copied), without validation: for
        payloads the desk computes itself by the thousand (a cycle's predictions from the core's
        arrays), whose builder fixes every field's type; its tests hold them equal to validated
        ones. Never for anything that came from outside. (0.4 us a prediction against 2.4 for
        validation, and one shared set of field names instead of a set per payload.)"""
        names = _FIELD_NAMES.get(cls)
        if names is None:
            names = _FIELD_NAMES[cls] = _FieldNames(cls.model_fields)
        if len(fields) != len(names):  # a count, not the names: those are the builder's, held by its tests
            missing, unknown = sorted(names - fields.keys()), sorted(fields.keys() - names)
            raise ValueError(f"{cls.__name__}.trusted takes exactly its fields: missing {missing}, unknown {unknown}")
        payload = _new(cls)
        _set_attribute(payload, "__dict__", fields)
        _set_fields_set(payload, names)
        _set_extra(payload, None)
        _set_private(payload, None)
        return payload

    def json_form(self) -> dict[str, Any]:
        """The payload as the bus stores it: `model_dump(mode="json")`, or for a flat payload
        (every field a required str, int, float or bool, which the dump would copy as they are)
        its fields' own dict, which encodes to the same JSON (the payload is frozen, and the bus
        only encodes what this returns). The dump walks pydantic's serializer for each one: a
        cycle's 1,000 `prediction.created` took 1.3 ms, a copy of the dict 0.1-0.3, the dict none."""
        flat = _FLAT.get(type(self))
        if flat is None:
            flat = _FLAT[type(self)] = all(
                field.is_required() and field.annotation in _SCALARS for field in type(self).model_fields.values()
            )
        return self.__dict__ if flat else self.model_dump(mode="json")


# What `trusted` sets, bound once: pydantic's slots' own setters (0.4 us a payload, against 0.85
# through object.__setattr__ by name).
_new = object.__new__
_set_attribute = object.__setattr__
_set_fields_set = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_set_extra = BaseModel.__dict__["__pydantic_extra__"].__set__
_set_private = BaseModel.__dict__["__pydantic_private__"].__set__

_SCALARS = (str, int, float, bool)
_FLAT: dict[type[Payload], bool] = {}


class _FieldNames(frozenset[str]):
    """The field names every trusted payload of a class shares as its `model_fields_set`; a copy
    is a set of its own, as pydantic's `model_copy(update=...)` adds to the copy's."""

    def __copy__(self) -> set[str]:  # type: ignore[override]
        return set(self)


_FIELD_NAMES: dict[type[Payload], _FieldNames] = {}


class Event(Payload):
    """A payload stored on a bus channel. Each concrete class is one event type: its channel
    comes from its channel's base class (`HftEvent`, ...) and its `event_type` is declared on it,
    so a producer publishes the object and never spells the type (app.events.publish)."""

    channel: ClassVar[str]
    event_type: ClassVar[str]
    # False for the types only their service may publish (the trading engine's, the predictor's
    # own state): POST /api/events refuses them, so no client can speak as the engine.
    client_publishable: ClassVar[bool] = True


JsonObject = dict[str, Any]
EpochSeconds = Annotated[int, Field(ge=0, description="UTC epoch seconds")]
Fraction = Annotated[float, Field(ge=0.0, le=1.0)]
JobStatus = Literal["queued", "running", "succeeded", "failed", "cancelled"]
