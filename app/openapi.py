"""contracts/openapi.json: the REST API's OpenAPI document, written from the app itself (no server
runs). `make contract` writes it, then generates frontend-v2/src/lib/api.gen.ts from it.

    python -m app.openapi contracts/openapi.json
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from app.core.config import Settings
from app.main import create_app


def openapi_document() -> dict[str, Any]:
    """The document /openapi.json serves (the settings change nothing in it)."""
    return create_app(Settings()).openapi()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m app.openapi <out.json>", file=sys.stderr)
        return 2
    out = Path(argv[0])
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
