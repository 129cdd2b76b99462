"""The garbage collector once the server has started: what start-up built is frozen out of it.

Everything built at start-up lives as long as the server, so `gc.freeze` moves it to the
permanent generation: a full collection no longer scans it, and stalls a cycle or a fan-out
for less.

Tried and not kept (2026-12-06): raising the young threshold to 50,000 (a predictor cycle at
500 instruments allocates about that many short-lived objects) took bench.predictor's live
cycle p99 from ~145 to 64-78 ms, but the soak's RSS then climbed through its second half
(438 -> 471 MB with older thresholds 50/100, 430 -> 458+ MB with 20/10) where with the defaults
it stays flat (396-398 MB). A server runs all day: memory that climbs is worse than a slower
tail, so the thresholds stay CPython's.
"""

from __future__ import annotations

import gc


def settle() -> None:
    """Once started: freeze what exists into the permanent generation."""
    gc.freeze()
