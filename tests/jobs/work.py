"""Functions run in worker processes by the runner tests (importable by the forkserver)."""

from __future__ import annotations

import time
from typing import Any


def count(n: int, reporter: Any) -> int:
    for i in range(n):
        reporter.progress((i + 1) / n, f"step {i + 1}")
    return n


def spin(reporter: Any) -> None:
    while True:
        reporter.check()
        time.sleep(0.01)


def boom(reporter: Any) -> None:
    raise ValueError("bad input")
