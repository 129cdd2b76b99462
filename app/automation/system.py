"""The builder of the job system: runner, kinds, events, registry, schedules, scheduler.

One explicit wiring (nothing auto-registered): training kinds (`ridge`, `lgbm`) publish on
`training`, automation kinds (`backfill`, `retrain`, `evaluate`, `prune`, `square_off`) on
`automation`; each family has its own concurrency limit, so a `retrain` run never takes the
slot its own training jobs need.

With SIGNALDESK_JOB_QUEUE=redis the servers' runners queue jobs on Redis and
`build_worker_system` makes the runner of a `signaldesk worker`, which runs them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from app.automation.deps import AutomationDeps, Flattener
from app.automation.events import AutomationEvents
from app.automation.history import SimulatedHistory
from app.automation.kinds import FAMILY as AUTOMATION
from app.automation.kinds import automation_kinds
from app.automation.scheduler import Scheduler
from app.automation.schedules import ScheduleStore
from app.bus.interface import EventBus
from app.core.config import Settings
from app.jobs.models import JobRecord
from app.jobs.queue import RedisJobQueue
from app.jobs.runner import JobRunner
from app.jobs.store import JobStore
from app.jobs.worker import WorkerPool
from app.market.candles import CandleStore
from app.market.clock import Clock, WallClock
from app.market.feed import BarSource, MarketFeed
from app.market.simulated import SimulatedMarket
from app.market.upstox.history import HistoryAccess
from app.predictor.config import DEFAULT_UNIVERSE
from app.registry.registry import ModelRegistry
from app.storage.db import Database
from app.training.events import TrainingEvents
from app.training.jobs import FAMILY as TRAINING
from app.training.jobs import training_kinds

WORKER_PRELOAD = (
    "app.training.worker",
    "app.automation.history",
    "app.predictor.live_record",
    "statsmodels.tsa.stattools",  # the live record's DM test imports it where it runs (app.predictor.evaluation)
    "app.trading.record",
    "app.trading.export",
)


@dataclass(slots=True)
class JobSystem:
    runner: JobRunner
    jobs: JobStore
    registry: ModelRegistry
    schedules: ScheduleStore
    scheduler: Scheduler
    history: SimulatedHistory | None = None

    async def start(self) -> list[JobRecord]:
        """End what a previous process left unfinished, then start the scheduler (which runs
        schedules missed during the downtime once)."""
        ended = await self.runner.start()
        self.scheduler.start()
        return ended

    async def stand_down(self) -> None:
        """This process stops being the cluster's leader: no more scheduled runs from here."""
        await self.scheduler.close()

    async def close(self) -> None:
        await self.scheduler.close()
        await self.runner.close()


def build_job_system(
    *,
    db: Database,
    bus: EventBus,
    data_dir: Path,
    universe: Callable[[], list[str]],
    history: SimulatedHistory | None = None,
    flattener: Flattener | None = None,
    training_concurrency: int = 1,
    automation_concurrency: int = 2,
    timeouts: Mapping[str, float] | None = None,
    clock: Clock | None = None,
    wall_clock: Callable[[], float] | None = None,
    worker_grace: float = 5.0,
    queue: RedisJobQueue | None = None,
    upstox: HistoryAccess | None = None,
) -> JobSystem:
    """:param universe: the default instruments of `retrain` and `backfill`.
    :param queue: the Redis job queue (SIGNALDESK_JOB_QUEUE=redis); None: jobs run here.
    :param history: the simulated market's history (backfill source `simulated`).
    :param upstox: Upstox's historical candles (backfill source `upstox`).
    :param clock: exchange time for schedules (default: the wall clock).
    :param wall_clock: epoch seconds for job timestamps (default time.time)."""
    clock = clock or WallClock()
    stamps: dict[str, Any] = {"clock": wall_clock} if wall_clock is not None else {}
    candles = CandleStore(db)
    registry = ModelRegistry(db, data_dir / "models", **stamps)
    deps = AutomationDeps(
        db=db,
        bus=bus,
        candles=candles,
        registry=registry,
        universe=universe,
        history=history,
        flattener=flattener,
        upstox=upstox,
    )
    jobs = JobStore(db)
    runner = JobRunner(
        store=jobs,
        kinds=[*training_kinds(candles=candles, registry=registry), *automation_kinds(deps)],
        events={TRAINING: TrainingEvents(bus), AUTOMATION: AutomationEvents(bus)},
        limits={TRAINING: training_concurrency, AUTOMATION: automation_concurrency},
        pool=WorkerPool(preload=WORKER_PRELOAD, grace=worker_grace),
        timeouts=timeouts,
        queue=queue,
        **stamps,
    )
    schedules = ScheduleStore(db, clock.now)

    async def submit(kind: str, params: dict[str, Any], schedule_id: int) -> JobRecord:
        return await runner.submit(kind, params, family=AUTOMATION, schedule_id=schedule_id)

    scheduler = Scheduler(store=schedules, submit=submit, clock=clock)
    return JobSystem(runner, jobs, registry, schedules, scheduler, history)


def build_from_settings(
    settings: Settings,
    *,
    db: Database,
    bus: EventBus,
    feed: MarketFeed,
    source: BarSource | None,
    flattener: Flattener | None = None,
) -> JobSystem:
    """The job system of a server: SIGNALDESK_JOBS_*, SIGNALDESK_JOB_TIMEOUTS, the feed's universe;
    `flattener`: the trading engine's square-off (the `square_off` kind)."""

    def universe() -> list[str]:
        carried = feed.instruments
        if not carried:
            return list(DEFAULT_UNIVERSE)
        return [key for key in DEFAULT_UNIVERSE if key in carried] or list(carried)

    return build_job_system(
        db=db,
        bus=bus,
        data_dir=settings.data_dir,
        universe=universe,
        history=SimulatedHistory(source) if isinstance(source, SimulatedMarket) else None,
        flattener=flattener,
        training_concurrency=settings.jobs_training_concurrency,
        automation_concurrency=settings.jobs_automation_concurrency,
        timeouts=settings.job_timeouts,
        queue=job_queue(settings, role="server"),
        upstox=HistoryAccess.of_settings(settings),
    )


def job_queue(settings: Settings, *, role: str) -> RedisJobQueue | None:
    """The Redis job queue of SIGNALDESK_JOB_QUEUE=redis (keys under SIGNALDESK_BUS_PREFIX)."""
    url = settings.queue_url
    if url is None:
        return None
    return RedisJobQueue(url, prefix=settings.bus_prefix, lease=settings.job_lease, role=role)


def build_worker_system(settings: Settings, *, db: Database, bus: EventBus) -> JobSystem:
    """The job system of a `signaldesk worker`: the same kinds, limits and timeouts as a
    server's, run from the job queue. It has no market feed and no trading engine (the kinds
    that need them stay on the server: `JobKind.server_bound`); a run naming no instruments
    gets the replayed instruments (SIGNALDESK_MARKET_INSTRUMENTS) or the default universe."""
    replayed = settings.market_instruments if settings.market_source == "replay" else []

    def universe() -> list[str]:
        return [key for key in DEFAULT_UNIVERSE if key in replayed] or list(replayed) or list(DEFAULT_UNIVERSE)

    return build_job_system(
        db=db,
        bus=bus,
        data_dir=settings.data_dir,
        universe=universe,
        training_concurrency=settings.jobs_training_concurrency,
        automation_concurrency=settings.jobs_automation_concurrency,
        timeouts=settings.job_timeouts,
        queue=job_queue(settings, role="worker"),
        upstox=HistoryAccess.of_settings(settings),
    )


async def retrain_at_start(system: JobSystem, settings: Settings) -> JobRecord:
    """`make run`: a retrain run for the default universe (after backfilling simulated history)."""
    backfill = settings.automation_backfill_days if system.history is not None else 0
    params = {"interval": settings.market_interval, "backfill_days": backfill}
    return await system.runner.submit("retrain", params, family=AUTOMATION)
