"""GET /api/asyncapi.json."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict, Field

from app.api.schemas.base import ResponseModel


class AsyncApiDocument(ResponseModel):
    """An AsyncAPI 3.0 document (its own standard: the parts are described there, not here);
    extension keys (`x-...`) are allowed, as AsyncAPI allows them."""

    model_config = ConfigDict(extra="allow")

    asyncapi: str
    info: dict[str, Any]
    default_content_type: str = Field(alias="defaultContentType")
    servers: dict[str, Any]
    channels: dict[str, Any]
    operations: dict[str, Any]
    components: dict[str, Any]
