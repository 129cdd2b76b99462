"""Errors of the trading engine; each carries what was wrong so the API can say it precisely."""

from __future__ import annotations


class TradingError(Exception):
    """Base of trading errors."""


class IllegalTransition(TradingError):
    """A lifecycle (engine, order, trade) was asked to move where its transitions do not go."""

    def __init__(self, what: str, current: str, target: str) -> None:
        self.what, self.current, self.target = what, current, target
        super().__init__(f"{what} cannot go from {current} to {target}")


class EngineStateError(TradingError):
    """A command that does not fit the engine's state (start twice, flatten when stopped)."""

    def __init__(self, action: str, state: str, hint: str = "") -> None:
        self.action, self.state = action, state
        super().__init__(f"cannot {action}: the engine is {state}" + (f"; {hint}" if hint else ""))


class UnknownBroker(TradingError):
    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        self.name, self.known = name, known
        super().__init__(f"unknown broker {name!r}; one of {', '.join(known)}")


class LiveTradingRefused(TradingError):
    """The two-key gate: an order or a setting that would reach a live broker with a key off."""


class BadLimits(TradingError):
    """Risk limits a request may not set (looser than the server's, or out of range)."""

    def __init__(self, problems: dict[str, str]) -> None:
        self.problems = problems
        super().__init__("; ".join(f"{k}: {v}" for k, v in problems.items()))


class OrderDenied(TradingError):
    """The risk gate refused an order before it reached any broker."""

    def __init__(self, reason: str, detail: str) -> None:
        self.reason, self.detail = reason, detail
        super().__init__(f"order denied ({reason}): {detail}")


class BrokerError(TradingError):
    """A broker failed or refused: connectivity, a rejected order, a malformed answer."""

    def __init__(self, broker: str, message: str) -> None:
        self.broker, self.message = broker, message
        super().__init__(f"{broker}: {message}")


class NoAnswer(BrokerError):
    """A request that got no answer (network failure, timeout, a server error): whether it took
    effect at the broker is not known."""


class NotConnected(BrokerError):
    def __init__(self, broker: str) -> None:
        super().__init__(broker, "not connected")


class NoKillSwitch(TradingError):
    """The broker kill switch was asked of a venue that has none (the paper broker)."""

    def __init__(self, venue: str, broker: str) -> None:
        self.venue, self.broker = venue, broker
        why = f" (this run's orders go to {venue}: safe mode is on)" if broker != venue else ""
        super().__init__(f"the {venue} broker has no kill switch{why}; halt without broker_kill_switch")


class JournalError(TradingError):
    """The trade journal could not be written: the engine halts rather than trade unrecorded."""


class BadPeriod(TradingError):
    """A period of the record that cannot be: `field` names the bound at fault."""

    def __init__(self, field: str, problem: str) -> None:
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")
