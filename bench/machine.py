"""The machine's state beside a benchmark's figures.

This machine (a 2-core VM) runs the same code at very different speeds from one hour to the
next: a fixed Python loop has taken 0.34 to 1.57 s between runs with nothing else running, two
sorts at once on its two cores 1.0 to 1.5 times one sort alone, and the bar-by-bar predictor
has read 6,000-20,000 bars/s on one code. Figures from different runs compare only beside this reading;
a before/after comparison belongs in one run, or in runs alternated close together.
"""

from __future__ import annotations

import gc
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

LOOP_STEPS = 10_000_000
SORTED = 2_000_000


def state() -> dict[str, Any]:
    """One core's speed: seconds of a fixed 10 M-step Python loop, and of building and keeping a
    million small dicts with the collector off (allocation and memory: on 2026-12-07 the loop
    read 0.34 s while the trade engine and the stepped predictor ran at less than half their
    speed of other days; the loop alone does not say it). Best of two each; lower is faster.
    Two cores at once: the wall time of two sorts side by side (numpy's sort leaves the GIL)
    over one sort's (best of three each; 1.0: two free cores, 2.0: one). The load average of
    the last minute: other work on the machine."""
    values = np.random.default_rng(0).standard_normal(SORTED)
    with ThreadPoolExecutor(2) as pool:
        one = min(_timed(np.sort, values) for _ in range(3))
        two = min(_timed(lambda v: list(pool.map(np.sort, (v, v))), values) for _ in range(3))
    return {
        "python_loop_10m_s": round(min(_loop(), _loop()), 2),
        "python_objects_1m_s": round(min(_objects(), _objects()), 2),
        "two_sorts_at_once_over_one": round(two / one, 2),
        "load_1min": round(os.getloadavg()[0], 2),
    }


def _timed(work: Any, values: np.ndarray) -> float:
    started = time.perf_counter()
    work(values)
    return time.perf_counter() - started


def _loop() -> float:
    started, total = time.perf_counter(), 0
    for i in range(LOOP_STEPS):
        total += i
    return time.perf_counter() - started


def _objects() -> float:
    collecting = gc.isenabled()
    gc.disable()
    try:
        started, kept = time.perf_counter(), []
        for i in range(1_000_000):
            kept.append({"id": i, "key": "NSE_EQ|INE002A01018", "value": float(i), "span": (i, i + 1)})
        return time.perf_counter() - started
    finally:
        if collecting:
            gc.enable()
