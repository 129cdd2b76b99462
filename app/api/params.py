"""Bounds at the door: the integer parameters of the REST routes, range-checked where they enter,
so nothing reaches SQLite or PostgreSQL that a 64-bit integer column cannot hold (a larger id
answers 422 naming the parameter, not a 500 from the database driver). Body fields use the same
limits through `app.events.payload` (EpochSeconds) and the route's own models."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query

SQL_INT_MAX = 2**63 - 1  # SQLite INTEGER and PostgreSQL BIGINT

RowIdPath = Annotated[int, Path(ge=1, le=SQL_INT_MAX, description="a stored row's id")]
RowIdQuery = Annotated[int | None, Query(ge=1, le=SQL_INT_MAX, description="a stored row's id")]
EpochQuery = Annotated[int | None, Query(ge=0, le=SQL_INT_MAX, description="UTC epoch seconds")]
