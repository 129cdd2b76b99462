"""GET /api/asyncapi.json: the machine-readable WebSocket contract (generated from the models)."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Request

from app.api.contract_schema import asyncapi_document
from app.api.schemas.contract import AsyncApiDocument

router = APIRouter(tags=["contract"])


@functools.lru_cache(maxsize=4)
def _document(host: str) -> dict[str, Any]:
    return asyncapi_document(host=host)


@router.get(
    "/api/asyncapi.json",
    summary="AsyncAPI 3.0 document of the channels and control frames",
    response_model=AsyncApiDocument,
)
async def read_asyncapi(request: Request) -> dict[str, Any]:
    return _document(request.headers.get("host", "127.0.0.1:8000"))
