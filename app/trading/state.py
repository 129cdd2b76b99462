"""The engine's lifecycle: STOPPED -> RUNNING <-> HALTED -> STOPPED, checked in one place; what a
run was started with; the stored state row; and the engine's snapshot for `GET /api/hft/status`.

HALTED: no new entries; open trades are still managed (stops, targets, time, square-off) and
may be flattened. A person resumes it (`POST /api/hft/resume`); a daily-loss halt stays until
then. STOPPED -> HALTED happens only when a restart recovers an engine that was halted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

import orjson

from app.trading.errors import IllegalTransition
from app.trading.risk import RiskLimits


class EngineState(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"
    HALTED = "halted"


TRANSITIONS: dict[EngineState, frozenset[EngineState]] = {
    EngineState.STOPPED: frozenset({EngineState.RUNNING, EngineState.HALTED}),
    EngineState.RUNNING: frozenset({EngineState.HALTED, EngineState.STOPPED}),
    EngineState.HALTED: frozenset({EngineState.RUNNING, EngineState.STOPPED}),
}


def check_transition(current: EngineState, target: EngineState) -> None:
    if target not in TRANSITIONS[current]:
        raise IllegalTransition("the engine", current.value, target.value)


@dataclass(frozen=True, slots=True)
class RunSettings:
    """What a run was started with: the broker asked for (orders may still go to paper: the
    gate decides), the second key, and the run's risk limits."""

    broker: str
    safe_mode: bool
    limits: RiskLimits


def state_row(state: EngineState, halted_reason: str | None, run: RunSettings, updated_ts: int) -> dict[str, Any]:
    """The `hft_engine` row (one row, id 1) a restart resumes from."""
    return {
        "id": 1,
        "state": state.value,
        "broker": run.broker,
        "safe_mode": run.safe_mode,
        "halted_reason": halted_reason,
        "limits": orjson.dumps(run.limits.public()).decode(),
        "updated_ts": updated_ts,
    }


@dataclass(frozen=True, slots=True, kw_only=True)
class EngineSnapshot:
    """What the engine shows at one moment (`TradingService.status`); money rounded to paise."""

    state: EngineState
    halted_reason: str | None
    run: RunSettings
    venue: str
    venue_connected: bool
    venue_updates: str | None  # a streaming venue's `order_updates`; None where orders end at once
    interval: str
    day: str
    day_pnl: float
    realized_today: float
    open_pnl: float
    open_trades: int
    signals_pending: int
    orders_sent: int
    denied: Mapping[str, int]
    skipped: Mapping[str, int]
    skill: list[dict[str, object]]  # SkillBook.public(): each pair's skill state and test figures
    last_bar_ts: int | None
    stops: Literal[
        "broker", "engine"
    ]  # "broker": each trade's stop rests at the venue; "engine": the engine watches it
