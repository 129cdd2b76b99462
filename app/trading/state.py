"""The engine's lifecycle: STOPPED -> RUNNING <-> HALTED -> STOPPED, checked in one place.

HALTED: no new entries; open trades are still managed (stops, targets, time, square-off) and
may be flattened. A person resumes it (`POST /api/hft/resume`); a daily-loss halt stays until
then. STOPPED -> HALTED happens only when a restart recovers an engine that was halted.
"""

from __future__ import annotations

from enum import StrEnum

from app.trading.errors import IllegalTransition


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
