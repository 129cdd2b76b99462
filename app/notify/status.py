"""What the notifier has done, per destination: kept as it happens, read by GET /api/notify/status."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Failure:
    """An alert given up on: which, where, why and when (UTC epoch seconds)."""

    kind: str
    title: str
    url: str
    reason: str
    ts: int


@dataclass(slots=True)
class DestinationStatus:
    """One notification URL's counters; `url` is apprise's private form (secrets masked)."""

    url: str
    sent: int = 0
    failed: int = 0
    retries: int = 0
    pending: int = 0
    last_failure: Failure | None = None


@dataclass(slots=True)
class NotifierStatus:
    """The notifier as a whole; `running` is False without URLs, and on a process that does not lead."""

    kinds: tuple[str, ...]
    destinations: list[DestinationStatus] = field(default_factory=list)
    running: bool = False

    @property
    def configured(self) -> bool:
        return bool(self.destinations)

    @property
    def last_failure(self) -> Failure | None:
        failures = [d.last_failure for d in self.destinations if d.last_failure is not None]
        return max(failures, key=lambda f: f.ts) if failures else None

    def total(self, counter: str) -> int:
        return sum(getattr(d, counter) for d in self.destinations)
