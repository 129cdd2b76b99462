"""The garbage collector once the server has started: what start-up built is frozen out of it,
and bursts of short-lived objects are kept out of the older generations.

Everything built at start-up lives as long as the server, so `gc.freeze` moves it to the
permanent generation: a full collection no longer scans it, and stalls a cycle or a fan-out
for less.

A predictor cycle at 500 instruments allocates tens of thousands of objects (rows, events,
their encodings) that all die when it ends. Collected in the middle of the cycle, the ones
still in use survive into the older generations; their growth there is what triggers CPython's
full collections (50-300 ms with the server's heap), which fell inside cycles and made their
tail. `deferred_collection` keeps automatic collection off for such a burst: its objects are
freed by reference counting when it ends, never promoted, and the collector runs again after
it (bench.predictor's live cycle: see the README's benchmarks).

Tried and not kept (2026-12-06): raising the young threshold to 50,000 (a predictor cycle at
500 instruments allocates about that many short-lived objects) took bench.predictor's live
cycle p99 from ~145 to 64-78 ms, but the soak's RSS then climbed through its second half
(438 -> 471 MB with older thresholds 50/100, 430 -> 458+ MB with 20/10) where with the defaults
it stays flat (396-398 MB). A server runs all day: memory that climbs is worse than a slower
tail, so the thresholds stay CPython's.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator


def settle() -> None:
    """Once started: freeze what is alive into the permanent generation. Garbage is collected
    first (a frozen object is never freed), after anything an earlier call froze is thawed: a
    process that starts a second server (a benchmark, a test) freezes its own heap, not the
    first one's leftovers, which made every later run slower."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


_deferring = 0
_was_enabled = False


@contextlib.contextmanager
def deferred_collection() -> Iterator[None]:
    """No automatic collection inside (see above). Nested and concurrent uses (across awaits)
    keep it off until the last one ends; a collector already disabled stays so."""
    global _deferring, _was_enabled
    if _deferring == 0:
        _was_enabled = gc.isenabled()
        gc.disable()
    _deferring += 1
    try:
        yield
    finally:
        _deferring -= 1
        if _deferring == 0 and _was_enabled:
            gc.enable()
