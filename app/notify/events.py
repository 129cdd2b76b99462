"""Which bus events are alerts, and how each reads.

    hft.entry / hft.exit               entry / exit (batched)
    hft.state -> halted                halt (once per halt: a new reason is a new halt)
    hft.error "broker X is not ..."    broker: stopped answering (app.trading.service's watch)
    hft.broker, not right after start  broker: answers again
    training.failed                    job_failed
    automation_run.updated failed      job_failed
    training.succeeded, promoted       model_promoted

Everything else is not an alert. `EventAlerts` keeps what it needs between events: the engine's
last state, and what each recent job was (its started event names it; its failure does not).
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Sequence

from app.events import (
    AutomationRunStarted,
    AutomationRunUpdated,
    Event,
    HftBroker,
    HftEntry,
    HftError,
    HftExit,
    HftStart,
    HftState,
    TrainingFailed,
    TrainingStarted,
    TrainingSucceeded,
)
from app.notify.kinds import Alert, AlertKind, rupees

BROKER_LOST = re.compile(r"^broker (\S+) is not answering \(")  # app.trading.service.broker_not_answering
JOBS_REMEMBERED = 1000


class EventAlerts:
    def __init__(self) -> None:
        self._halted: str | None = None  # the reason of the halt announced last; None while not halted
        self._jobs: OrderedDict[str, str] = OrderedDict()  # job id -> what it was, newest last

    def alerts(self, events: Sequence[Event]) -> list[Alert]:
        """The alerts of one delivery (one publish: an `hft.broker` beside `hft.start` is a start)."""
        starting = any(isinstance(e, HftStart) for e in events)
        alerts = (self._alert(e, starting) for e in events)
        return [a for a in alerts if a is not None]

    def _alert(self, event: Event, starting: bool) -> Alert | None:
        match event:
            case HftEntry():
                side = "long" if event.qty > 0 else "short"
                return Alert(
                    AlertKind.ENTRY,
                    "trade entered",
                    f"#{event.trade_id} entered {side} {abs(event.qty)} {event.instrument_key} "
                    f"at {rupees(event.entry, sign=False)}",
                )
            case HftExit():
                return Alert(
                    AlertKind.EXIT,
                    "trade closed",
                    f"#{event.trade_id} closed {event.instrument_key} at {rupees(event.price, sign=False)} "
                    f"({event.reason}): {rupees(event.pnl)}",
                    "success" if event.pnl >= 0 else "warning",
                )
            case HftState():
                return self._state(event)
            case HftError() if (lost := BROKER_LOST.match(event.error)) is not None:
                return Alert(AlertKind.BROKER, f"broker {lost.group(1)} is not answering", event.error, "failure")
            case HftBroker() if not starting:
                return Alert(
                    AlertKind.BROKER,
                    f"broker {event.broker} reconnected",
                    f"broker {event.broker} answers again; orders go to it as before",
                    "success",
                )
            case TrainingStarted():
                self._remember(event.job_id, f"training {event.kind} {event.instrument_key} {event.interval}")
            case AutomationRunStarted():
                self._remember(event.job_id, f"automation {event.kind}")
            case TrainingFailed():
                return self._failed(event.job_id, "training", event.error)
            case AutomationRunUpdated() if event.status == "failed":
                return self._failed(event.job_id, "automation", event.error)
            case TrainingSucceeded() if event.result.get("promoted") is True:
                result = event.result
                return Alert(
                    AlertKind.MODEL_PROMOTED,
                    f"model promoted: {result.get('model_kind')}",
                    f"{result.get('model_kind')} now predicts {result.get('instrument_key')} "
                    f"{result.get('interval')}: {result.get('decision')}",
                    "success",
                )
        return None

    def _state(self, event: HftState) -> Alert | None:
        if event.state != "halted":
            self._halted = None
            return None
        reason = event.halted_reason or "halted"
        if reason == self._halted:
            return None
        self._halted = reason
        return Alert(
            AlertKind.HALT,
            "trading engine halted",
            f"halted: {reason}. No new entries; open trades are still managed. Resume: POST /api/hft/resume",
            "failure",
        )

    def _remember(self, job_id: str, what: str) -> None:
        self._jobs[job_id] = what
        while len(self._jobs) > JOBS_REMEMBERED:
            self._jobs.popitem(last=False)

    def _failed(self, job_id: str, family: str, error: str | None) -> Alert:
        what = self._jobs.pop(job_id, family)
        return Alert(
            AlertKind.JOB_FAILED,
            f"{what} failed",
            f"{what} (job {job_id}) failed: {error or 'no error given'}",
            "failure",
        )
