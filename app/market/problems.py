"""Row problems found vectorised: one mask per rule, messages made only for the rows reported."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from app.market.errors import CandleImportError, RowProblem

Lines = npt.NDArray[np.int64]
Mask = npt.NDArray[np.bool_]


class ProblemLog:
    """Every problem is counted; the first MAX_PROBLEMS by line keep their message."""

    def __init__(self, limit: int = CandleImportError.MAX_PROBLEMS) -> None:
        self.limit = limit
        self.total = 0
        self._kept: list[RowProblem] = []

    def __bool__(self) -> bool:
        return self.total > 0

    def add(self, lines: Lines, bad: Mask, column: str, message: Callable[[int], str]) -> None:
        """Record `column` as bad where `bad`; `message(i)` describes position i (called sparingly)."""
        where = np.flatnonzero(bad)
        if where.size == 0:
            return
        self.total += int(where.size)
        first = where[np.argsort(lines[where], kind="stable")[: self.limit]]
        self._kept.extend(RowProblem(int(lines[i]), column, message(int(i))) for i in first)

    def add_one(self, line: int, column: str, message: str) -> None:
        self.total += 1
        self._kept.append(RowProblem(line, column, message))

    def raise_if_any(self, source: str) -> None:
        """CandleImportError with the first problems in line order, when there are any."""
        if not self.total:
            return
        kept = sorted(self._kept, key=lambda p: p.line)[: self.limit]
        plural = "s" if self.total != 1 else ""
        raise CandleImportError(source, f"{self.total} bad value{plural}; nothing imported", kept, total=self.total)
