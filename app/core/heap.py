"""The garbage collector set for a server whose work comes in bursts of short-lived objects.

CPython's default thresholds (700, 10, 10) run a young collection every 700 net allocations and
a full one after every hundred young ones (when enough new objects survived). A predictor cycle
at 500 instruments allocates ~50,000 objects (rows, events, encoded envelopes) that die with the
cycle, so the defaults run dozens of young collections per cycle and, every few cycles, a full
one that scans every object the server holds: 50-100 ms with the event loop stopped. Measured
(bench.predictor, live cycle at 500 instruments, 2026-12-06, nothing else running): p99 145 ms
with the defaults, 60-75 ms with the thresholds below; p50 unchanged (~40-50 ms).

So: what was built at start-up is frozen out of every scan (`gc.freeze`) and a young collection
waits for 50,000 net allocations; the older generations keep CPython's proportions (a middle
collection every 20 young ones, a full one every 10 middle ones, and only when enough has
survived). Thresholds of 50/100 for those measured the same p99 but let the soak's RSS climb
438 -> 471 MB over its second half (cyclic garbage waits for a full collection); with the
defaults' proportions it stays flat (the soak checks it).
"""

from __future__ import annotations

import gc

THRESHOLDS = (50_000, 20, 10)  # young, middle, old: see the module docstring


def settle() -> None:
    """Once started: freeze what exists into the permanent generation, then the thresholds."""
    gc.freeze()
    gc.set_threshold(*THRESHOLDS)
