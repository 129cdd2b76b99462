"""The base of every REST answer model."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, TypeVar

from pydantic import BaseModel, ConfigDict, Strict


class ResponseModel(BaseModel):
    """Strict types and no unknown keys: an answer that drifts from its model (a renamed key, a
    number sent as a string) fails FastAPI's check of it, loudly, instead of reaching a client.
    Enum fields take their values (EnumValue), as the domain's public dicts hold them."""

    model_config = ConfigDict(strict=True, extra="forbid")


EnumT = TypeVar("EnumT", bound=Enum)
EnumValue = Annotated[EnumT, Strict(False)]
"""An enum field that takes the enum's value (`"running"`) as well as the member."""
