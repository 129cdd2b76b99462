"""`signaldesk worker`: run training and automation jobs from the Redis job queue."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.commands.settings import load_settings, prepare_database
from app.core.config import Settings

err = Console(stderr=True)


def worker(
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=256,
            help="Queued jobs this worker takes at once (default: the training plus "
            "the automation concurrency, SIGNALDESK_JOBS_*_CONCURRENCY).",
        ),
    ] = None,
    data_dir: Annotated[
        Path | None,
        typer.Option(
            help="Data directory shared with the servers: model artifacts, and the SQLite database "
            "unless SIGNALDESK_DATABASE_URL is set (env SIGNALDESK_DATA_DIR)."
        ),
    ] = None,
) -> None:
    """Run jobs that servers queue on Redis (needs SIGNALDESK_JOB_QUEUE=redis and SIGNALDESK_BUS_URL).

    Job state goes to the shared database, events to the shared bus, so every server's WebSocket clients see the progress.

    SIGTERM or Ctrl-C ends the jobs it runs as failed; a worker killed outright has its jobs ended failed by any other process once its lease (SIGNALDESK_JOB_LEASE seconds) lapses. See docs/workers.md.
    """  # noqa: E501 - typer keeps a docstring's line breaks
    from app.core.logging import configure_logging

    settings = load_settings(data_dir=data_dir)
    if settings.job_queue != "redis":
        err.print(
            "[red]error:[/red] SIGNALDESK_JOB_QUEUE: a worker needs the Redis job queue; set it to redis "
            "(with SIGNALDESK_BUS_URL) on the worker and on every server"
        )
        raise typer.Exit(2)
    configure_logging(settings.log_level, settings.log_format)
    prepare_database(settings, auto_upgrade=settings.db_auto_upgrade)
    asyncio.run(
        run_worker(settings, concurrency or settings.jobs_training_concurrency + settings.jobs_automation_concurrency)
    )


async def run_worker(settings: Settings, concurrency: int) -> None:
    """Take jobs until SIGTERM or SIGINT, then end those still held (failed, saying so)."""
    from app.automation.system import build_worker_system
    from app.bus.build import build_bus
    from app.storage.db import Database

    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database(settings.db_url)
    bus = build_bus(settings)
    await bus.start()
    runner = build_worker_system(settings, db=db, bus=bus).runner
    try:
        await runner.start()
        assert runner.queue is not None
        arq = runner.queue.worker(runner.execute, concurrency=concurrency, timeout=runner.longest_timeout() + 60)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        taking = asyncio.create_task(arq.async_run(), name="arq worker")
        stopping = asyncio.create_task(stop.wait())
        err.print(
            f"signaldesk {runner.queue.holder}: taking jobs from {runner.queue.queue_name}, {concurrency} at once",
            soft_wrap=True,
        )
        await asyncio.wait({taking, stopping}, return_when=asyncio.FIRST_COMPLETED)
        arq.allow_pick_jobs = False
        await runner.close()  # each held job ends failed, stored then published
        await asyncio.gather(*arq.tasks.values(), return_exceptions=True)
        await arq.close()
        stopping.cancel()
        if taking.done() and not taking.cancelled() and taking.exception() is not None:
            raise taking.exception()  # type: ignore[misc]
    finally:
        await bus.close()
        await db.close()
