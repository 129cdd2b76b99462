"""The base of every payload and the field types the contract shares.

Binding source: docs/websocket-contracts.md. Field names, optionality and types are exactly
the spec's; where the spec leaves a type open (`id`, `pred_ret`, ...) the choice is
documented in docs/websocket-contracts.md ("Field types"). Producers are held to the
contract strictly (no coercion, no extra fields); readers (ws.ts) tolerate extra fields.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, ClassVar, Literal, TypeAlias, TypeVar

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
