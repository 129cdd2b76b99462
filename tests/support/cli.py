"""`signaldesk ...` as a person runs it: a child process, no SIGNALDESK_* but those given."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path


def signaldesk(
    *args: str | Path, env: dict[str, str] | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALDESK_")}
    return subprocess.run(
        [sys.executable, "-m", "app", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**clean, **(env or {})},
    )


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
