"""The server freezes what start-up built out of the garbage collector once it has started
(app.core.heap), and leaves its thresholds as CPython has them."""

from __future__ import annotations

import gc
from pathlib import Path

from app.core.config import Settings
from app.main import create_app


async def test_a_started_server_freezes_its_start_up_heap(tmp_path: Path) -> None:
    thresholds = gc.get_threshold()
    app = create_app(Settings(data_dir=tmp_path, market_source="off"))
    gc.unfreeze()
    try:
        assert gc.get_freeze_count() == 0
        async with app.router.lifespan_context(app):
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold() == thresholds
    finally:
        gc.unfreeze()
