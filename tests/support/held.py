"""Work for a worker process (app.jobs.worker) that only holds it: what the tests of running
answers in worker processes time."""

from __future__ import annotations

import time


def held(seconds: float, reporter: object) -> tuple[float, float]:
    """Hold the worker `seconds`; when it started and ended (epoch seconds, this process's clock)."""
    started = time.time()
    time.sleep(seconds)
    return started, time.time()
