"""Brokers by name. The builder registers each one with a factory; nothing registers itself."""

from __future__ import annotations

from collections.abc import Callable

from app.trading.brokers.base import Broker
from app.trading.errors import UnknownBroker

BrokerFactory = Callable[[], Broker]


class BrokerRegistry:
    """Names to factories, and which names are live brokers (known without making one)."""

    def __init__(self) -> None:
        self._factories: dict[str, tuple[BrokerFactory, bool]] = {}

    def register(self, name: str, factory: BrokerFactory, *, live: bool) -> None:
        if name in self._factories:
            raise ValueError(f"broker {name!r} is registered already")
        self._factories[name] = (factory, live)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._factories)

    def check(self, name: str) -> None:
        if name not in self._factories:
            raise UnknownBroker(name, self.names)

    def is_live(self, name: str) -> bool:
        self.check(name)
        return self._factories[name][1]

    def create(self, name: str) -> Broker:
        self.check(name)
        broker = self._factories[name][0]()
        if broker.is_live != self._factories[name][1]:
            raise ValueError(f"broker {name!r} was registered with live={self._factories[name][1]} but is not")
        return broker
