"""`signaldesk ...` as a person runs it: a child process, no SIGNALDESK_* but those given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.prefork import PREFORK


def signaldesk(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    """Its output and exit code; forked from the prefork process (tests/support/prefork.py)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALDESK_")}
    return PREFORK.run(list(map(str, args)), env={**clean, **(env or {})}, timeout=timeout)


def popen(*args: str | Path, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    """The same, started and not waited for (several at once)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALDESK_")}
    return subprocess.Popen(
        [sys.executable, "-m", "app", *map(str, args)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**clean, **(env or {})},
    )
