"""The kinds of alert (SIGNALDESK_NOTIFY_EVENTS) and the one message shape every kind becomes."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


class AlertKind(StrEnum):
    ENTRY = "entry"  # hft.entry; batched with exits
    EXIT = "exit"  # hft.exit; batched with entries
    HALT = "halt"  # hft.state -> halted: by a person, the daily loss limit, an unknown order outcome...
    BROKER = "broker"  # the broker stopped answering (hft.error) / reconnected (hft.broker)
    FEED = "feed"  # the market feed disconnected / reconnected (market status)
    TOKEN = "token"  # the Upstox access token expiring (warning) or expired
    JOB_FAILED = "job_failed"  # training.failed, automation_run.updated with status failed
    MODEL_PROMOTED = "model_promoted"  # training.succeeded whose model the gate promoted
    DAILY_SUMMARY = "daily_summary"  # after the square-off: PnL, trades, win rate, best/worst, charges
    TEST = "test"  # `signaldesk notify test`; always sent, not selectable


SELECTABLE: tuple[AlertKind, ...] = tuple(k for k in AlertKind if k is not AlertKind.TEST)
BATCHED = frozenset({AlertKind.ENTRY, AlertKind.EXIT})

Severity = Literal["info", "success", "warning", "failure"]  # apprise's notify types


@dataclass(frozen=True, slots=True)
class Alert:
    """One message: `title` is a line, `body` plain text (several lines when batched)."""

    kind: AlertKind
    title: str
    body: str
    severity: Severity = "info"


def parse_kinds(items: list[str]) -> tuple[AlertKind, ...]:
    """The kinds named (`all`, or none at all, selects every kind); ValueError naming an unknown one."""
    names = [item.strip().lower() for item in items if item.strip()]
    if not names or names == ["all"]:
        return SELECTABLE
    known = {k.value for k in SELECTABLE}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise ValueError(f"unknown alert kind {unknown[0]!r}; the kinds are all, {', '.join(sorted(known))}")
    return tuple(k for k in SELECTABLE if k.value in names)


def rupees(amount: float, *, sign: bool = True) -> str:
    """₹+1,234.50 (or ₹1,234.50 without the sign)."""
    return f"₹{amount:+,.2f}" if sign else f"₹{amount:,.2f}"
