"""Errors raised by the event bus."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with an event: where (a path into the envelope) and what."""

    loc: tuple[str | int, ...]
    msg: str

    @property
    def path(self) -> str:
        return ".".join(str(part) for part in self.loc)


class BusError(Exception):
    """Base of the bus's errors."""


class InvalidEvent(BusError):
    """An event does not match the contract; nothing was stored or sent."""

    def __init__(self, channel: str, type: str, problems: list[Problem]) -> None:
        self.channel = channel
        self.type = type
        self.problems = problems
        detail = "; ".join(f"{p.path}: {p.msg}" for p in problems)
        super().__init__(f"invalid {channel}/{type} event: {detail}")


class BusClosed(BusError):
    """The bus was closed; no more events are accepted."""


class UnknownChannel(BusError):
    """A subscription or history request named a channel the bus does not carry."""

    def __init__(self, channel: str, known: tuple[str, ...]) -> None:
        self.channel = channel
        self.known = known
        super().__init__(f"unknown channel {channel!r}; one of {', '.join(known)}")


class ReplayOvertaken(BusError):
    """Retention deleted events a replay had not read yet; the subscriber must resubscribe."""
