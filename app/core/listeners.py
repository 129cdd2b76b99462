"""A list of callbacks called inline, in the order they were added: the one shape of every
listener list (the market feed's bars, states and ticks, a source's state, the market status).

A callback must not block or await. One that raises is logged and kept: a faulty listener never
stops the others, nor the producer that calls them.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")
log = logging.getLogger(__name__)


class Listeners(Generic[T]):
    """:param what: names the list in the log when a callback raises (e.g. "market tick listener")."""

    def __init__(self, what: str) -> None:
        self.what = what
        self._callbacks: list[Callable[[T], None]] = []

    def add(self, callback: Callable[[T], None]) -> Callable[[], None]:
        """Add `callback`; returns the function that removes it (harmless to call twice)."""
        self._callbacks.append(callback)

        def remove() -> None:
            with contextlib.suppress(ValueError):
                self._callbacks.remove(callback)

        return remove

    def __call__(self, value: T) -> None:
        for callback in list(self._callbacks):
            try:
                callback(value)
            except Exception:
                log.exception("%s %r failed", self.what, callback)

    def __bool__(self) -> bool:
        return bool(self._callbacks)

    def clear(self) -> None:
        self._callbacks.clear()
