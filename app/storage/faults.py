"""Storage faults: a write the disk refused (full, over quota, read-only, failing), told apart
from a bug, so that the door answers 503 naming the data directory and the cause (never a 500),
and /api/health says `degraded` until a write succeeds again."""

from __future__ import annotations

import errno
import sqlite3

_ERRNOS = {
    errno.ENOSPC: "no space left on device",
    errno.EDQUOT: "disk quota exceeded",
    errno.EROFS: "read-only file system",
    errno.EIO: "input/output error",
}
# SQLite says it in words (SQLITE_FULL, SQLITE_READONLY, SQLITE_IOERR)
_SQLITE = {
    "database or disk is full": "no space left on device",
    "attempt to write a readonly database": "read-only file system",
    "disk I/O error": "input/output error",
}
_PG_DISK_FULL = "53100"  # SQLSTATE disk_full


def storage_fault(exc: BaseException | None) -> str | None:
    """The cause, when `exc` (or what it wraps: SQLAlchemy's `orig`, a cause or context) is a
    storage fault; None for anything else."""
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in _ERRNOS:
            return _ERRNOS[exc.errno]
        if isinstance(exc, sqlite3.DatabaseError):
            for words, cause in _SQLITE.items():
                if words in str(exc):
                    return cause
        if getattr(exc, "sqlstate", None) == _PG_DISK_FULL:
            return "no space left on device (PostgreSQL)"
        exc = getattr(exc, "orig", None) or exc.__cause__ or exc.__context__
    return None
