"""The live predictor: drives PredictorCore from the market feed, stores, then publishes.

Per bar close (the cycle's anchor) it publishes, in this order: one `prediction.created` per
instrument x horizon, one `prediction.resolved` per prediction whose target is this anchor,
a `predictor.error` for predictions that expired and for instruments that stopped having
bars, and `predictor.cycle {created, resolved, anchor}`. Every prediction is stored before
its event is published. The core's step runs in a worker thread, so heartbeats and other
channels keep flowing during a heavy cycle.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Protocol

import numpy as np
from pydantic import ValidationError

from app.bus.interface import EventBus
from app.core import heap
from app.events import PredictionEvent, PredictorCycle, PredictorStart, PredictorStop, publish
from app.events import PredictorError as PredictorFailed
from app.market.bars import BarSet
from app.market.calendar import BarClock
from app.market.feed import BarSubscription, MarketFeed
from app.market.intervals import parse_interval
from app.market.timestamps import iso
from app.predictor.calibration import SUMS
from app.predictor.compile import load_live_kernels
from app.predictor.config import PredictorConfig
from app.predictor.core import Block, Cycle, PredictorCore, PromotedModel
from app.predictor.errors import PredictorError, PredictorStateError, UnknownInstruments
from app.predictor.events import created_of, outcomes
from app.predictor.models import make_model
from app.predictor.skill import SkillBook, SkillConfig, preload
from app.predictor.store import PredictionStore, Row

log = logging.getLogger(__name__)


class PromotedModels(Protocol):
    """Where promoted models come from (app.registry.ModelRegistry); `version` changes with them."""

    @property
    def version(self) -> int: ...

    async def promoted(self, interval: str) -> Mapping[str, PromotedModel]: ...


class PredictorState(StrEnum):
    STOPPED = "stopped"
    RUNNING = "running"


@dataclass
class PredictorStatus:
    state: PredictorState = PredictorState.STOPPED
    instruments: list[str] = field(default_factory=list)
    cfg: dict[str, Any] = field(default_factory=dict)
    started_ts: int | None = None
    cycles: int = 0
    last_anchor: int | None = None
    created: int = 0
    resolved: int = 0
    expired: int = 0


class PredictorService:
    """Start/stop the live predictor; one run at a time.

    :param skill: the skill test the trading gate applies (app.predictor.skill); the status
        shows each pair's state under it (`report`).
    :param clock: wall-clock seconds (only for `started_ts` and `updated_ts` bookkeeping).
    """

    def __init__(
        self,
        *,
        bus: EventBus,
        store: PredictionStore,
        feed: MarketFeed,
        calendar: BarClock,
        registry: PromotedModels | None = None,
        skill: SkillConfig | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._bus = bus
        self._registry = registry
        self._registry_version: int | None = None
        self._store = store
        self._feed = feed
        self._calendar = calendar
        self._clock = clock
        self._task: asyncio.Task[None] | None = None
        self._kernels: asyncio.Future[None] | None = None  # loading the live kernels (`ready`)
        self._missing: set[str] = set()
        self.status = PredictorStatus()
        self.skill = SkillBook(skill or SkillConfig())

    def report(self) -> dict[str, Any]:
        """The status with each pair's skill (GET /api/predictor/status)."""
        return {**asdict(self.status), "skill": self.skill.public()}

    # --- lifecycle ----------------------------------------------------------------------

    async def start(self, instruments: Sequence[str], cfg: PredictorConfig) -> PredictorStatus:
        if self._task is not None:
            raise PredictorStateError("the predictor is already running; stop it first")
        instruments = list(dict.fromkeys(instruments)) or list(self._feed.instruments)
        unknown = [i for i in instruments if i not in self._feed.instruments]
        if unknown:
            raise UnknownInstruments(unknown, self._feed.instruments)
        feed_interval = self._feed.interval
        if feed_interval is None or feed_interval.name != cfg.interval:
            raise PredictorStateError(
                f"cfg.interval is {cfg.interval!r} but the market feed runs "
                f"{feed_interval.name if feed_interval else 'no source'}"
            )
        if self._kernels is None:  # loaded beside the start, not at the first bar (`ready`)
            self._kernels = asyncio.ensure_future(asyncio.to_thread(load_live_kernels))
        core = PredictorCore(
            instruments,
            parse_interval(cfg.interval),
            horizons=cfg.horizons,
            models=[make_model(cfg.model_kind)],
            clock=self._calendar,
            calib_halflife=cfg.calib_halflife,
            min_history=cfg.min_history,
            first_id=await self._store.next_id(),
        )
        await self._restore(core, cfg)
        preload(self.skill.config)  # the skill test's table, in the background
        started = int(self._clock())
        await self._store.save_run(instruments, cfg.model_dump(), started)
        await publish(self._bus, PredictorStart(instruments=instruments, cfg=cfg.model_dump()))
        self.status = PredictorStatus(PredictorState.RUNNING, instruments, cfg.model_dump(), started_ts=started)
        self.skill = SkillBook(self.skill.config)
        self._missing = set()
        self._task = asyncio.create_task(self._run(core, self._feed.subscribe(name="predictor")))
        log.info("predictor started", extra={"instruments": len(instruments), "cfg": cfg.model_dump()})
        return self.status

    async def ready(self) -> None:
        """Return once the live kernels a started predictor loads are loaded (at once when none
        is loading). A start loads them in a thread (about a second the first time in a
        process: app.predictor.compile.load_live_kernels) rather than at its first bar, and
        without holding up the start: a leader's duties start inside its lease. The server
        waits for this before freezing its start-up heap (app.main), so a predictor resumed
        at boot has numba's objects frozen with the rest. A failed load is logged here and
        tried again by the first cycle, which then reports its own error."""
        if self._kernels is None:
            return
        try:
            await asyncio.shield(self._kernels)
        except Exception:
            log.exception("loading the predictor's kernels failed")
            self._kernels = None

    async def stop(self) -> PredictorStatus:
        if self._task is None:
            raise PredictorStateError("the predictor is not running")
        task, self._task = self._task, None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        self.status.state = PredictorState.STOPPED
        await self._store.clear_run()
        await publish(self._bus, PredictorStop())
        return self.status

    async def recover(self, default: tuple[Sequence[str], PredictorConfig] | None = None) -> None:
        """At start-up, or when this process becomes the cluster's leader: resume the run a
        previous process left on (stored at start, cleared at stop); else start `default`."""
        saved = await self._store.saved_run()
        try:
            if saved is not None:
                await self.start(saved["instruments"], PredictorConfig.model_validate(saved["cfg"]))
            elif default is not None:
                await self.start(*default)
        except (PredictorError, ValidationError) as e:
            await self._error(f"could not resume the predictor: {e}")

    async def close(self) -> None:
        """At shutdown: stop without publishing or forgetting the run (a restart resumes it)."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self, core: PredictorCore, subscription: BarSubscription) -> None:
        await self.ready()
        async with subscription:
            async for bars in subscription:
                try:
                    await self._cycle(core, bars)
                except Exception as e:  # one bad cycle must not end the predictor
                    log.exception("predictor cycle failed")
                    await self._error(f"cycle at {iso(bars.close_ts)} failed: {e}")

    # --- one cycle ----------------------------------------------------------------------

    async def _cycle(self, core: PredictorCore, bars: BarSet) -> None:
        with heap.deferred_collection():  # its objects die with it: not collected halfway (app.core.heap)
            await self._step(core, bars)

    async def _step(self, core: PredictorCore, bars: BarSet) -> None:
        bars = _select(bars, core.instruments)
        await self._pick_up_promotions(core)
        cycle = await asyncio.to_thread(core.step, bars)
        blocks = [created_of(core, block) for block in cycle.created]
        await self._store.insert([row for block in blocks for row in block.rows])
        created_events = [event for block in blocks for event in block.events]
        await self._publish_all(*created_events)

        resolved, expired = outcomes(core, cycle)
        await self._store.finish(
            [{"b_id": r.id, "b_actual_ret": r.actual_ret, "b_error": r.error} for r in resolved],
            [e["id"] for e in expired],
            _calibration_rows(core, cycle, int(self._clock())),
        )
        await self._publish_all(*resolved)
        for event in created_events:
            self.skill.on_created(event)
        for outcome in resolved:
            self.skill.on_resolved(outcome)
        for text in _expiry_messages(expired):
            await self._error(text)
        await self._report_missing(core, bars)

        self.status.cycles += 1
        self.status.last_anchor = cycle.anchor
        self.status.created += len(created_events)
        self.status.resolved += len(resolved)
        self.status.expired += len(expired)
        summary = PredictorCycle(created=len(created_events), resolved=len(resolved), anchor=cycle.anchor)
        await publish(self._bus, summary)

    async def _pick_up_promotions(self, core: PredictorCore) -> None:
        """Use the registry's promoted models from this cycle on, when they changed."""
        if self._registry is None or self._registry.version == self._registry_version:
            return
        self._registry_version = self._registry.version
        core.use_promoted(await self._registry.promoted(core.interval.name))

    async def _publish_all(self, *events: PredictionEvent) -> None:
        """One publish (all or none) of a cycle's created, or its resolved, events."""
        if events:
            await publish(self._bus, *events)

    async def _error(self, text: str) -> None:
        await publish(self._bus, PredictorFailed(error=text))

    async def _report_missing(self, core: PredictorCore, bars: BarSet) -> None:
        """Say once when an instrument stops having bars, and once when it has them again."""
        missing = {core.instruments[i] for i in np.flatnonzero(~np.isfinite(bars.close))}
        for key in sorted(missing - self._missing):
            await self._error(f"no bar for {key} at {iso(bars.close_ts)}; no predictions for it until bars return")
        for key in sorted(self._missing - missing):
            log.info("bars are back", extra={"instrument_key": key})
        self._missing = missing

    # --- restart ------------------------------------------------------------------------

    async def _restore(self, core: PredictorCore, cfg: PredictorConfig) -> None:
        """Load calibration and open predictions; expire open ones this run cannot resolve."""
        index = {key: i for i, key in enumerate(core.instruments)}
        horizons = {int(h): k for k, h in enumerate(core.horizons)}
        for row in await self._store.calibration_states(cfg.interval, cfg.model_kind):
            i, k = index.get(row["instrument_key"]), horizons.get(row["horizon_steps"])
            if i is not None and k is not None:
                core.calibration.n[0, k, i] = row["n"]
                core.calibration.sums[:, 0, k, i] = [row[name] for name in SUMS]

        groups: dict[tuple[int, int, int], list[Row]] = defaultdict(list)
        orphans: list[Row] = []
        for row in await self._store.open_predictions():
            usable = (
                row["instrument_key"] in index
                and row["horizon_steps"] in horizons
                and row["interval"] == cfg.interval
                and row["model_kind"] == cfg.model_kind
            )
            if usable:
                groups[(row["horizon_steps"], row["ts_pred"], row["ts_target"])].append(row)
            else:
                orphans.append(row)
        for (h, ts_pred, ts_target), rows in sorted(groups.items(), key=lambda kv: kv[0][2]):
            core.add_pending(_block_from_rows(core, h, ts_pred, ts_target, rows, index))
        if orphans:
            await self._store.expire([r["id"] for r in orphans])
            ids = ", ".join(str(r["id"]) for r in orphans[:20])
            more = f" and {len(orphans) - 20} more" if len(orphans) > 20 else ""
            await self._error(f"predictions {ids}{more} expired: the new run does not cover their instrument/cfg")


def _select(bars: BarSet, instruments: tuple[str, ...]) -> BarSet:
    """The BarSet restricted (and ordered) to `instruments`."""
    if bars.instruments == instruments:
        return bars
    position = {key: i for i, key in enumerate(bars.instruments)}
    idx = np.array([position[key] for key in instruments])
    return BarSet(
        bars.interval,
        bars.open_ts,
        bars.close_ts,
        instruments,
        bars.open[idx],
        bars.high[idx],
        bars.low[idx],
        bars.close[idx],
        bars.volume[idx],
    )


def _expiry_messages(expired: list[Row]) -> list[str]:
    by_target: dict[int, list[Row]] = defaultdict(list)
    for row in expired:
        by_target[row["ts_target"]].append(row)
    return [
        "predictions expired, no bar at their target "
        + iso(ts)
        + ": "
        + ", ".join(f"{r['id']} ({r['instrument_key']})" for r in rows)
        for ts, rows in sorted(by_target.items())
    ]


def _calibration_rows(core: PredictorCore, cycle: Cycle, now: int) -> list[Row]:
    """The calibration state of every (instrument, horizon) this cycle resolved something for."""
    rows: list[Row] = []
    calib = core.calibration
    for res in cycle.resolved:
        k = int(np.flatnonzero(core.horizons == res.block.horizon)[0])
        ok = np.flatnonzero(res.ok)
        for m in range(len(core.model_kinds)):
            columns = zip(ok.tolist(), calib.n[m, k, ok].tolist(), *calib.sums[:, m, k, ok].tolist(), strict=True)
            rows += [
                {
                    "instrument_key": core.instruments[i],
                    "interval": core.interval.name,
                    "horizon_steps": res.block.horizon,
                    "model_kind": res.block.model_kind(m, i),
                    "n": n,
                    **dict(zip(SUMS, sums, strict=True)),
                    "updated_ts": now,
                }
                for i, n, *sums in columns
            ]
    return rows


def _block_from_rows(
    core: PredictorCore, h: int, ts_pred: int, ts_target: int, rows: list[Row], index: dict[str, int]
) -> Block:
    n = len(core.instruments)
    made = np.zeros(n, dtype=bool)
    ids = np.full((1, n), -1, dtype=np.int64)
    close, pred, adj, bias = (np.full(n, np.nan) for _ in range(4))
    for row in rows:
        i = index[row["instrument_key"]]
        made[i] = True
        ids[0, i] = row["id"]
        close[i], pred[i], adj[i], bias[i] = row["close_pred"], row["pred_ret"], row["pred_ret_adj"], row["calib_bias"]
    return Block(core.model_kinds, h, ts_pred, ts_target, made, close, ids, pred[None], adj[None], bias[None])
