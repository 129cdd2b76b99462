"""Schedules in the database: create, read, update, delete, and record firings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import delete, select, update

from app.automation.cron import check_cron, check_timezone, next_slot
from app.automation.tables import ScheduleRow
from app.storage.db import Database

Row = dict[str, Any]
EDITABLE = ("name", "kind", "params", "cron", "timezone", "enabled")


class ScheduleNotFound(LookupError):
    def __init__(self, schedule_id: int) -> None:
        self.schedule_id = schedule_id
        super().__init__(f"no schedule {schedule_id}")


class ScheduleStore:
    """:param clock: exchange time now (UTC epoch s): new and edited schedules start after it."""

    def __init__(self, db: Database, clock: Callable[[], float]) -> None:
        self.db = db
        self._clock = clock

    async def create(self, *, name: str, kind: str, params: Row, cron: str, timezone: str, enabled: bool = True) -> Row:
        cron, timezone = check_cron(cron), check_timezone(timezone)
        now = self._clock()
        row = ScheduleRow(
            name=name,
            kind=kind,
            params=params,
            cron=cron,
            timezone=timezone,
            enabled=enabled,
            next_ts=next_slot(cron, timezone, now) if enabled else None,
            created_ts=now,
            updated_ts=now,
        )
        async with self.db.session() as s:
            s.add(row)
            await s.flush()
            return _public(row)

    async def update(self, schedule_id: int, **changes: Any) -> Row:
        """Change some of EDITABLE; the next slot is recomputed from now when timing changes."""
        unknown = set(changes) - set(EDITABLE)
        if unknown:
            raise ValueError(f"not editable: {', '.join(sorted(unknown))}")
        current = await self._row(schedule_id)
        values = {**{k: getattr(current, k) for k in EDITABLE}, **changes}
        values["cron"], values["timezone"] = check_cron(values["cron"]), check_timezone(values["timezone"])
        now = self._clock()
        retime = any(k in changes for k in ("cron", "timezone", "enabled"))
        if retime:
            values["next_ts"] = next_slot(values["cron"], values["timezone"], now) if values["enabled"] else None
        async with self.db.session() as s:
            await s.execute(
                update(ScheduleRow).where(ScheduleRow.schedule_id == schedule_id).values(**values, updated_ts=now)
            )
        return await self.get(schedule_id)

    async def delete(self, schedule_id: int) -> None:
        await self._row(schedule_id)
        async with self.db.session() as s:
            await s.execute(delete(ScheduleRow).where(ScheduleRow.schedule_id == schedule_id))

    async def get(self, schedule_id: int) -> Row:
        return _public(await self._row(schedule_id))

    async def all(self) -> list[Row]:
        async with self.db.session() as s:
            rows = (await s.execute(select(ScheduleRow).order_by(ScheduleRow.schedule_id))).scalars().all()
        return [_public(r) for r in rows]

    async def fired(
        self, schedule_id: int, *, slot: float, next_ts: float, job_id: str | None, error: str | None
    ) -> None:
        async with self.db.session() as s:
            await s.execute(
                update(ScheduleRow)
                .where(ScheduleRow.schedule_id == schedule_id)
                .values(last_slot_ts=slot, next_ts=next_ts, last_job_id=job_id, last_error=error)
            )

    async def _row(self, schedule_id: int) -> ScheduleRow:
        async with self.db.session() as s:
            row = await s.get(ScheduleRow, schedule_id)
        if row is None:
            raise ScheduleNotFound(schedule_id)
        return row


def _public(row: ScheduleRow) -> Row:
    return {
        "schedule_id": row.schedule_id,
        "name": row.name,
        "kind": row.kind,
        "params": row.params,
        "cron": row.cron,
        "timezone": row.timezone,
        "enabled": row.enabled,
        "next_ts": row.next_ts,
        "last_slot_ts": row.last_slot_ts,
        "last_job_id": row.last_job_id,
        "last_error": row.last_error,
        "created_ts": row.created_ts,
        "updated_ts": row.updated_ts,
    }
