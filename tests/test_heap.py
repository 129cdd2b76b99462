"""The server freezes what start-up built out of the garbage collector once it has started
(app.core.heap), and leaves its thresholds as CPython has them; a predictor cycle runs with
automatic collection deferred."""

from __future__ import annotations

import asyncio
import gc
import subprocess
import sys
import weakref
from pathlib import Path

from app.bus.events import Batch
from app.core import heap
from app.core.config import Settings
from app.main import create_app
from app.predictor.config import PredictorConfig
from bench.predictor import predictor_desk, simulated_bars


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


def test_deferred_collection_is_off_until_the_last_overlapping_use_ends() -> None:
    assert gc.isenabled()
    first, second = heap.deferred_collection(), heap.deferred_collection()
    first.__enter__()
    assert not gc.isenabled()
    second.__enter__()  # a second cycle overlapping the first (two coroutines)
    first.__exit__(None, None, None)
    assert not gc.isenabled(), "the second is still inside"
    second.__exit__(None, None, None)
    assert gc.isenabled()
    gc.disable()
    try:
        with heap.deferred_collection():
            pass
        assert not gc.isenabled(), "a collector disabled before stays disabled"
    finally:
        gc.enable()


async def test_a_predictor_cycle_runs_without_automatic_collection(tmp_path: Path) -> None:
    """Collected halfway, a cycle's objects would be promoted and trigger full collections."""
    bars = simulated_bars(2, 10)
    async with predictor_desk(tmp_path, bars[0].instruments) as (service, bus, source):
        seen = Collection()
        await bus.subscribe("prediction", seen)
        await service.start(list(source.instruments), PredictorConfig(horizons=[1], model_kind="ewma"))
        for bar_set in bars:
            source.queue.put_nowait(bar_set)
        await asyncio.wait_for(seen.cycles.wait(), 30)
    assert seen.during == {"prediction.created": {False}, "prediction.resolved": {False}, "predictor.cycle": {False}}
    assert gc.isenabled()


class Collection:
    """A subscriber noting, for each event type, whether automatic collection was on as it came
    (the local bus hands a batch over inside the publish, so inside the cycle)."""

    def __init__(self) -> None:
        self.during: dict[str, set[bool]] = {}
        self.cycles = asyncio.Event()
        self._count = 0

    def ready(self, outcome: object) -> None:
        pass

    def deliver(self, batch: Batch) -> None:
        for event in batch.events:
            if event.type != "predictor.start":
                self.during.setdefault(event.type, set()).add(gc.isenabled())
            self._count += event.type == "predictor.cycle"
        if self._count >= 8:  # predictions from the fourth bar on (min_history), resolutions a bar later
            self.cycles.set()

    async def drained(self) -> bool:
        return True

    def lost(self) -> None:
        pass


def test_settling_collects_garbage_before_freezing_what_is_alive() -> None:
    class Node:
        loop: object

    garbage, leftover = Node(), Node()
    garbage.loop, leftover.loop = garbage, leftover  # reference cycles: only a collection frees them
    garbage_ref, leftover_ref = weakref.ref(garbage), weakref.ref(leftover)
    del garbage
    try:
        heap.settle()
        assert garbage_ref() is None, "garbage frozen: it would never be freed"
        assert gc.get_freeze_count() > 0 and leftover_ref() is not None
        del leftover  # alive when frozen; garbage once a first server is done with it
        heap.settle()  # a second server in the same process
        assert leftover_ref() is None, "the first freeze's leftovers frozen for good"
    finally:
        gc.unfreeze()


START_WITHOUT_BARS = """
import asyncio, sys, tempfile
from pathlib import Path
from app.predictor.config import PredictorConfig
from bench.predictor import predictor_desk

async def main():
    with tempfile.TemporaryDirectory() as tmp:
        async with predictor_desk(Path(tmp), ("NSE_EQ|INE002A01018",)) as (service, bus, source):
            assert "numba" not in sys.modules
            await service.start(list(source.instruments), PredictorConfig(horizons=[1], model_kind="ridge"))
            await service.ready()
            from app.predictor import kernels
            live = (kernels.update_features, kernels.ridge_predict, kernels.resolve, kernels.calibration_bias)
            print(all(k.signatures for k in live))

asyncio.run(main())
"""


def test_the_predictor_loads_its_kernels_when_it_starts_not_at_its_first_bar() -> None:
    """So the first cycle does not wait for them, and a predictor resumed at boot has numba in
    the start-up heap the server freezes (app.predictor.compile.load_live_kernels)."""
    run = subprocess.run([sys.executable, "-c", START_WITHOUT_BARS], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True"


BOOT_WITH_THE_PREDICTOR = """
import asyncio, gc, tempfile
from pathlib import Path
from app.core.config import Settings
from app.main import create_app

async def main():
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(Settings(data_dir=Path(tmp), market_source="simulated", predictor_autostart=True))
        async with app.router.lifespan_context(app):
            import numba
            print(not any(o is numba.njit for o in gc.get_objects()))  # frozen objects are not listed

asyncio.run(main())
"""


def test_a_server_that_starts_the_predictor_at_boot_freezes_numba_with_its_start_up_heap() -> None:
    run = subprocess.run([sys.executable, "-c", BOOT_WITH_THE_PREDICTOR], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "True"
