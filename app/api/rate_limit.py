"""Token buckets: how many write requests each caller may make, refilled at a steady rate."""

from __future__ import annotations

import time
from collections.abc import Callable


class RateLimiter:
    """A bucket of `burst` requests per key, refilled at `rate` per second.

    Keys are whoever asks (a bearer token, or a client address): a caller that never comes back
    leaves a bucket behind, so once `max_keys` are held the full (idle) ones are dropped.

    :param rate: requests per second a key may sustain; 0: no limit.
    :param burst: requests a key may make at once.
    :param clock: monotonic seconds (tests pass their own).
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if rate < 0 or burst < 1:
            raise ValueError(f"rate must be >= 0 and burst >= 1 (got rate={rate}, burst={burst})")
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, at)

    def take(self, key: str) -> float:
        """Spend one request of `key`: 0.0 when allowed, else the seconds until it would be."""
        if self.rate == 0:
            return 0.0
        now = self._clock()
        tokens, at = self._buckets.get(key, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - at) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if key not in self._buckets and len(self._buckets) >= self.max_keys:
            self._forget_idle(now)
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0

    def _forget_idle(self, now: float) -> None:
        refill = self.burst / self.rate
        self._buckets = {k: (t, at) for k, (t, at) in self._buckets.items() if now - at < refill}
