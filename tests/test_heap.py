"""The server sets the garbage collector for its bursts of short-lived objects once it has
started (app.core.heap): what start-up built is frozen, the thresholds are the module's."""

from __future__ import annotations

import gc
from pathlib import Path

from app.core import heap
from app.core.config import Settings
from app.main import create_app


async def test_a_started_server_freezes_its_heap_and_sets_the_collector(tmp_path: Path) -> None:
    saved = gc.get_threshold()
    app = create_app(Settings(data_dir=tmp_path, market_source="off"))
    try:
        assert gc.get_threshold() != heap.THRESHOLDS
        async with app.router.lifespan_context(app):
            assert gc.get_threshold() == heap.THRESHOLDS
            assert gc.get_freeze_count() > 0
    finally:
        gc.set_threshold(*saved)
        gc.unfreeze()
