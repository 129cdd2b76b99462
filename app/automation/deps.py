"""What automation runs act on, handed in by the builder (nothing global)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from app.automation.history import SimulatedHistory
from app.bus.interface import EventBus
from app.market.candles import CandleStore
from app.market.upstox.history import HistoryAccess
from app.registry.registry import ModelRegistry
from app.storage.db import Database
from app.trading.engine import FlattenOutcome


class Flattener(Protocol):
    """The trading engine's square-off, once that engine exists (app.trading.system.SquareOff)."""

    async def flatten(self, reason: str) -> FlattenOutcome: ...


class Prunable(Protocol):
    async def prune(self) -> int: ...


@dataclass(slots=True)
class AutomationDeps:
    """:param universe: the default instruments (the market feed's default universe).
    :param history: the simulated market's history, when the market is simulated.
    :param flattener: the trading engine's square-off; None until there is one.
    :param upstox: Upstox's historical candles (backfill source `upstox`); None without a token."""

    db: Database
    bus: EventBus | Prunable
    candles: CandleStore
    registry: ModelRegistry
    universe: Callable[[], list[str]]
    history: SimulatedHistory | None = None
    flattener: Flattener | None = None
    upstox: HistoryAccess | None = None
