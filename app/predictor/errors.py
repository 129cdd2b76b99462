"""Errors of the predictor; each names what was wrong."""

from __future__ import annotations


class PredictorError(Exception):
    """Base of predictor errors."""


class UnknownModel(PredictorError):
    def __init__(self, kind: str, known: tuple[str, ...]) -> None:
        self.kind = kind
        super().__init__(f"unknown model_kind {kind!r}; one of {', '.join(known)}")


class PredictorStateError(PredictorError):
    """An action that does not fit the service's state (start twice, stop when stopped)."""


class UnknownInstruments(PredictorError):
    """Instruments the market feed does not carry."""

    def __init__(self, unknown: list[str], known: tuple[str, ...]) -> None:
        self.unknown = unknown
        shown = ", ".join(known[:10]) + (" ..." if len(known) > 10 else "")
        super().__init__(f"no market data for {', '.join(unknown)}; the feed carries {shown}")


class BadSweep(PredictorError, ValueError):
    """A sweep spec or ranking figure that cannot be used; `name` is the parameter (or spec) at fault."""

    def __init__(self, name: str, message: str) -> None:
        self.name = name
        super().__init__(message)
