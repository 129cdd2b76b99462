"""The model registry: artifacts under `<data_dir>/models/<model_id>/`, a DB row per model, the
promotion gate (gate.py), and what the predictor asks for.

For the predictor:

    registry.version                          # int; changes whenever a promotion changes
    models = await registry.promoted("1m")    # {instrument_key: LoadedModel}
    pred = models[key].predict(features)      # features (k, F) -> log returns (H, k)
    models[key].model_kind                    # "lgbm:<model_id>", for prediction.created
    models[key].horizons                      # the horizons its rows are, e.g. (1, 5)

`promoted(interval)` returns the promoted models built on the current feature definition
(FEATURE_SPEC_HASH) only, loaded once and cached; compare `version` with the one seen at the
last call to know cheaply (an int compare) whether to call it again. The version starts at 0
in each process: a predictor that starts loads once anyway.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from sqlalchemy import Table, delete, select, update

from app.registry.errors import ModelNotFound
from app.registry.gate import Decision, Incumbent, decide
from app.registry.loaded import LoadedModel, load_model
from app.registry.tables import ModelRow, PromotionRow
from app.storage.db import Database
from app.storage.upsert import upsert
from app.training.dataset import FEATURE_SPEC_HASH

Row = dict[str, Any]


@dataclass(frozen=True, slots=True)
class NewModel:
    """What a finished training job registers."""

    model_id: str
    kind: str
    instrument_key: str
    interval: str
    horizons: list[int]
    trained_from: int
    trained_to: int
    samples: int
    metrics: dict[str, Any]
    params: dict[str, Any]
    job_id: str | None
    feature_spec: str = FEATURE_SPEC_HASH


class ModelRegistry:
    """:param models_dir: where artifacts live (`<data_dir>/models`).
    :param clock: wall-clock epoch seconds (timestamps only)."""

    def __init__(self, db: Database, models_dir: Path, *, clock: Callable[[], float] = time.time) -> None:
        self.db = db
        self.models_dir = models_dir
        self._clock = clock
        self.version = 0
        self._lock = asyncio.Lock()  # gate decisions one at a time: check-then-promote is atomic
        self._cache: dict[str, LoadedModel] = {}

    @staticmethod
    def new_model_id() -> str:
        return secrets.token_hex(6)

    def artifact_dir(self, model_id: str) -> Path:
        return self.models_dir / model_id

    # --- writing ------------------------------------------------------------------------

    async def register(self, model: NewModel) -> Row:
        row = ModelRow(
            model_id=model.model_id,
            kind=model.kind,
            instrument_key=model.instrument_key,
            interval=model.interval,
            horizons=model.horizons,
            trained_from=model.trained_from,
            trained_to=model.trained_to,
            samples=model.samples,
            metrics=model.metrics,
            params=model.params,
            feature_spec=model.feature_spec,
            job_id=model.job_id,
            created_ts=self._clock(),
        )
        async with self.db.session() as s:
            s.add(row)
        return _public(row, promoted=False)

    async def consider(self, model_id: str) -> Decision:
        """Run the gate for a registered model; promote it when it passes. Records the decision."""
        async with self._lock:
            model = await self._row(model_id)
            incumbent = await self._incumbent(model.instrument_key, model.interval)
            decision = decide(model.metrics, model.feature_spec, incumbent)
            now = self._clock()
            async with self.db.session() as s:
                values: Row = {"decision": decision.reason}
                if decision.promoted:
                    values["promoted_ts"] = now
                    await upsert(
                        s,
                        cast(Table, PromotionRow.__table__),  # declarative __table__ is typed FromClause
                        [
                            {
                                "instrument_key": model.instrument_key,
                                "interval": model.interval,
                                "model_id": model_id,
                                "promoted_ts": now,
                            }
                        ],
                        ("instrument_key", "interval"),
                    )
                await s.execute(update(ModelRow).where(ModelRow.model_id == model_id).values(**values))
            if decision.promoted:
                self.version += 1
            return decision

    async def _incumbent(self, instrument_key: str, interval: str) -> Incumbent | None:
        async with self.db.session() as s:
            row = (
                await s.execute(
                    select(ModelRow)
                    .join(PromotionRow, PromotionRow.model_id == ModelRow.model_id)
                    .where(PromotionRow.instrument_key == instrument_key, PromotionRow.interval == interval)
                )
            ).scalar_one_or_none()
        return None if row is None else Incumbent(row.model_id, row.metrics, row.feature_spec)

    async def delete(self, model_ids: list[str]) -> None:
        """Remove models (rows and artifacts); a promoted one is never removed."""
        if not model_ids:
            return
        async with self.db.session() as s:
            promoted = set((await s.execute(select(PromotionRow.model_id))).scalars())
            doomed = [m for m in model_ids if m not in promoted]
            await s.execute(delete(ModelRow).where(ModelRow.model_id.in_(doomed)))
        for model_id in doomed:
            self._cache.pop(model_id, None)
            await asyncio.to_thread(shutil.rmtree, self.artifact_dir(model_id), True)

    async def unpromoted_beyond(self, keep: int) -> list[str]:
        """Models that are not promoted and not among the newest `keep` of their (instrument, interval)."""
        async with self.db.session() as s:
            promoted = set((await s.execute(select(PromotionRow.model_id))).scalars())
            rows = (
                await s.execute(
                    select(ModelRow.model_id, ModelRow.instrument_key, ModelRow.interval).order_by(
                        ModelRow.created_ts.desc()
                    )
                )
            ).all()
        seen: dict[tuple[str, str], int] = {}
        out = []
        for model_id, key, interval in rows:
            n = seen.get((key, interval), 0)
            seen[(key, interval)] = n + 1
            if n >= keep and model_id not in promoted:
                out.append(model_id)
        return out

    # --- reading ------------------------------------------------------------------------

    async def promoted(self, interval: str) -> dict[str, LoadedModel]:
        """The promoted model of every instrument at `interval` (current feature spec only)."""
        async with self.db.session() as s:
            rows = (
                (
                    await s.execute(
                        select(ModelRow)
                        .join(PromotionRow, PromotionRow.model_id == ModelRow.model_id)
                        .where(PromotionRow.interval == interval, ModelRow.feature_spec == FEATURE_SPEC_HASH)
                    )
                )
                .scalars()
                .all()
            )
        out: dict[str, LoadedModel] = {}
        for row in rows:
            model = self._cache.get(row.model_id)
            if model is None:
                model = await asyncio.to_thread(
                    load_model,
                    self.artifact_dir(row.model_id),
                    model_id=row.model_id,
                    kind=row.kind,
                    instrument_key=row.instrument_key,
                    interval=row.interval,
                    feature_spec=row.feature_spec,
                )
                self._cache[row.model_id] = model
            out[row.instrument_key] = model
        return out

    async def get(self, model_id: str) -> Row:
        row = await self._row(model_id)
        return _public(row, promoted=await self._is_promoted(model_id))

    async def find(
        self,
        *,
        instrument_key: str | None = None,
        interval: str | None = None,
        kind: str | None = None,
        promoted: bool | None = None,
        limit: int = 100,
    ) -> list[Row]:
        """Newest first."""
        query = select(ModelRow).order_by(ModelRow.created_ts.desc()).limit(limit)
        if instrument_key is not None:
            query = query.where(ModelRow.instrument_key == instrument_key)
        if interval is not None:
            query = query.where(ModelRow.interval == interval)
        if kind is not None:
            query = query.where(ModelRow.kind == kind)
        async with self.db.session() as s:
            current = set((await s.execute(select(PromotionRow.model_id))).scalars())
            if promoted is not None:
                query = query.where(ModelRow.model_id.in_(current) if promoted else ModelRow.model_id.not_in(current))
            rows = (await s.execute(query)).scalars().all()
        return [_public(r, promoted=r.model_id in current) for r in rows]

    async def _row(self, model_id: str) -> ModelRow:
        async with self.db.session() as s:
            row = await s.get(ModelRow, model_id)
        if row is None:
            raise ModelNotFound(model_id)
        return row

    async def _is_promoted(self, model_id: str) -> bool:
        async with self.db.session() as s:
            found = await s.execute(select(PromotionRow.model_id).where(PromotionRow.model_id == model_id))
            return found.first() is not None


def _public(row: ModelRow, *, promoted: bool) -> Row:
    return {
        "model_id": row.model_id,
        "kind": row.kind,
        "model_kind": f"{row.kind}:{row.model_id}",
        "instrument_key": row.instrument_key,
        "interval": row.interval,
        "horizons": row.horizons,
        "trained_range": {"start": row.trained_from, "end": row.trained_to},
        "samples": row.samples,
        "metrics": row.metrics,
        "params": row.params,
        "feature_spec": row.feature_spec,
        "job_id": row.job_id,
        "created_ts": row.created_ts,
        "promoted": promoted,
        "promoted_ts": row.promoted_ts,
        "decision": row.decision,
    }
