"""The model registry over REST: trained models, their metrics and promotion decisions."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, status

from app.api.deps import JobsDep
from app.api.schemas.errors import errors
from app.api.schemas.models import ModelList, ModelOut
from app.api.security import require_token
from app.registry.errors import ModelNotFound

router = APIRouter(prefix="/api/models", tags=["models"], dependencies=[Depends(require_token)], responses=errors(401))


@router.get("", summary="Registered models, newest first", response_model=ModelList)
async def read_models(
    system: JobsDep,
    instrument_key: str | None = None,
    interval: str | None = None,
    kind: str | None = None,
    promoted: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    models = await system.registry.find(
        instrument_key=instrument_key, interval=interval, kind=kind, promoted=promoted, limit=limit
    )
    return {"models": models}


@router.get(
    "/{model_id}", summary="One registered model (404 when unknown)", response_model=ModelOut, responses=errors(404)
)
async def read_model(system: JobsDep, model_id: str) -> dict[str, Any]:
    try:
        return await system.registry.get(model_id)
    except ModelNotFound as e:
        raise HTTPException(status.HTTP_404_NOT_FOUND, str(e)) from e
