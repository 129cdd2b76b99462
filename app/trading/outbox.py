"""The engine's outbox: what a run decided, stored before it is announced, and the run's state.

Rows are staged in the journal as the engine decides (`stage`); events wait here (`emit`) until
`commit` has stored the rows (`journal.flush`), then go out in one publish: nothing is announced
that is not stored. What every trade makes (its rows and its orders', `hft.entry`,
`hft.trade_risk`, `hft.exit`) comes in by name (`stage_trade`, `entered`, ...), so a backtest's
outbox may keep it in memory instead (app.trading.backtest.KeptOutbox). The run's state
(RUNNING, HALTED, STOPPED, and why it is halted) is held here, in this one place, because every
change of it is one more staged row (`hft_engine`) and one more event (`hft.state`): a halt
inside a price update goes out with that phase's commit (`halt`); a command's transition is
stored and published at once (`announce`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any, cast

from app.events import EventSink, HftEntry, HftError, HftEvent, HftExit, HftState, HftTradeRisk, publish
from app.events.hft import EngineStateName
from app.trading.errors import JournalError
from app.trading.gate import LiveGate
from app.trading.journal import Journal
from app.trading.orders import Order
from app.trading.state import EngineState, RunSettings, check_transition, state_row
from app.trading.trades import Trade

log = logging.getLogger(__name__)


class Outbox:
    """:param state, halted_reason: where the run starts: RUNNING, or HALTED (with its reason) when
    a restart recovers a halted run.
    :param wall: epoch seconds, for the state row's timestamp."""

    def __init__(
        self,
        *,
        journal: Journal,
        sink: EventSink,
        gate: LiveGate,
        run: RunSettings,
        state: EngineState,
        halted_reason: str | None,
        wall: Callable[[], float],
    ) -> None:
        if (state is EngineState.HALTED) != (halted_reason is not None) or state is EngineState.STOPPED:
            raise ValueError("a run starts RUNNING, or HALTED with a reason")
        self.journal = journal
        self.sink = sink
        self.gate = gate
        self.run = run
        self.state: EngineState = state
        self.halted_reason = halted_reason
        self._wall = wall
        self._events: list[HftEvent] = []

    # --- what a phase decided -------------------------------------------------------------

    def stage(self, table: str, row: Mapping[str, Any]) -> None:
        self.journal.stage(table, row)

    def emit(self, event: HftEvent) -> None:
        self._events.append(event)

    def stage_trade(self, trade: Trade) -> None:
        self.stage("hft_trades", trade.row())

    def stage_order(self, order: Order) -> None:
        self.stage("hft_orders", order.row())

    def entered(self, trade: Trade) -> None:
        """A trade opened: `hft.entry`, and its stop and target (`hft.trade_risk`)."""
        self.emit(
            HftEntry(trade_id=trade.trade_id, instrument_key=trade.instrument_key, qty=trade.qty, entry=trade.entry)
        )
        self.risk_moved(trade)

    def risk_moved(self, trade: Trade) -> None:
        """A trade's stop or target moved (`hft.trade_risk`)."""
        self.emit(HftTradeRisk(trade_id=trade.trade_id, stop=trade.stop, target=trade.target))

    def exited(self, trade: Trade) -> None:
        """A trade closed (`hft.exit`: the average exit price and the whole PnL)."""
        assert trade.exit_price is not None and trade.pnl is not None
        self.emit(
            HftExit(
                trade_id=trade.trade_id,
                instrument_key=trade.instrument_key,
                price=round(trade.exit_price, 2),
                pnl=round(trade.pnl, 2),
                reason=str(trade.exit_reason),
            )
        )

    @property
    def pending(self) -> bool:
        """Something is staged or emitted that no commit has taken yet."""
        return bool(self._events) or self.journal.pending

    async def commit(self) -> None:
        """Store what was staged, then publish what was emitted (never the other way round).
        When the journal fails the run halts: the error is announced, and `hft.state` too once
        the halted state row could be stored. Nothing staged and nothing emitted: nothing to do
        (most of a backtest's bar phases)."""
        if not self.pending:
            return
        events, self._events = self._events, []
        try:
            await self.journal.flush()
        except JournalError as e:
            log.exception("trading journal failed")
            error = HftError(error=f"{e}; halted, {len(events)} events withheld (restart reconciles)")
            self.halt(str(e))
            state, self._events = self._events, []
            try:
                await self.journal.flush()
                events = [error, *state]
            except JournalError:
                log.exception("trading journal failed again: the halt is not stored")
                events = [error]
        if events:
            await publish(self.sink, *events)

    # --- the run's state ------------------------------------------------------------------

    def move(self, state: EngineState, halted_reason: str | None = None) -> None:
        """A transition in memory only: `announce` (a command) or `halt` (a phase) stores it."""
        if state is EngineState.HALTED and self.state is EngineState.HALTED:
            self.halted_reason = halted_reason  # halted again: the newer reason
            return
        check_transition(self.state, state)
        self.state, self.halted_reason = state, halted_reason

    def halt(self, reason: str) -> None:
        """A halt inside a phase: its state row and `hft.state` go out with the phase's commit."""
        self.move(EngineState.HALTED, reason)
        self._stage_state()
        self.emit(self.state_event())

    async def announce(self, *events: HftEvent) -> None:
        """A command's transition: the state row is stored (a JournalError raises), then `events`
        and `hft.state` are published together."""
        self._stage_state()
        await self.journal.flush()
        await publish(self.sink, *events, self.state_event())

    def state_event(self) -> HftState:
        return HftState(
            state=cast(EngineStateName, self.state.value),
            halted_reason=self.halted_reason,
            safe_mode=self.run.safe_mode,
            live_trading_enabled=self.gate.live_trading_enabled,
            broker=self.run.broker,
        )

    def _stage_state(self) -> None:
        self.journal.stage("hft_engine", state_row(self.state, self.halted_reason, self.run, int(self._wall())))
