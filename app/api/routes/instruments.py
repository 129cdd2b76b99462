"""GET /api/instruments: search Upstox's instrument master by trading symbol and name."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from app.api.deps import InstrumentMasterDep
from app.api.schemas.errors import errors
from app.api.schemas.instruments import InstrumentList
from app.api.security import require_token

router = APIRouter(
    prefix="/api/instruments", tags=["instruments"], dependencies=[Depends(require_token)], responses=errors(401, 422)
)


@router.get(
    "",
    response_model=InstrumentList,
    summary="Instruments whose trading symbol starts with q or whose name contains it (any case), best first",
)
async def search_instruments(
    master: InstrumentMasterDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=128,
            pattern=r"\S",
            description="the exact symbol ranks first, then symbol prefixes, then names; NSE_EQ and indices first",
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=100, description="at most this many")] = 20,
) -> dict[str, Any]:
    found = await master.search(q, limit)
    return {"instruments": [asdict(i) for i in found], "master_size": await master.count()}
