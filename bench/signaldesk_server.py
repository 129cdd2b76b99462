"""The real signaldesk app, with an in-process publisher on the real durable bus.

`create_app(settings)` builds the app exactly as `signaldesk serve` does and
`uvicorn_config(app, settings)` selects signaldesk's WebSocket protocol; the only addition is
a wrapper around the app's lifespan that, once the bus is open, starts the bench publisher
(bench.publisher) on the app's bus (`services_of(app).bus`). Every event goes through
`bus.publish`: validated against the contract, committed to SQLite (`bus_synchronous="full"`,
fsync on every commit: durability on), then fanned out. Settings are given explicitly, so no SIGNALDESK_* variable
in the environment can change what is measured; the simulated market feed and the predictor
are off, so nothing else runs in the server or publishes on the channel.

With `--bus-url redis://...` the bus is the shared Redis Streams one (`--bus-prefix` names the
log), as `SIGNALDESK_BUS_URL` makes it for `signaldesk serve`: several of these processes with
the same URL and prefix form a cluster (bench.scaleout). `--lanes N` spreads the publisher's
events round-robin over the first N channels of LANES (each with a type whose payload carries
the timestamp in an `error` string).

    python -m bench.signaldesk_server --port P --control-port C --data-dir DIR [--bus-url URL --bus-prefix P]
"""

from __future__ import annotations

import argparse
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from app.api.services import services_of
from app.core.config import Settings
from app.core.logging import configure_logging
from app.main import create_app
from app.server import uvicorn_config
from bench.load_client import raise_fd_limit
from bench.publisher import Publisher

CHANNEL = "prediction"
TYPE = "predictor.error"
# channel -> (type, payload besides the `error` timestamp): one lane per channel
LANES: dict[str, tuple[str, dict[str, str]]] = {
    CHANNEL: (TYPE, {}),
    "hft": ("hft.error", {}),
    "automation": ("automation_run.updated", {"job_id": "bench"}),
    "training": ("training.failed", {"job_id": "bench"}),
}


def bench_settings(port: int, data_dir: Path, bus_url: str | None = None, bus_prefix: str = "signaldesk") -> Settings:
    return Settings(
        host="127.0.0.1",
        port=port,
        data_dir=data_dir,
        api_token=None,
        allowed_origins=[],
        bus_synchronous="full",
        bus_url=bus_url,
        bus_prefix=bus_prefix,
        # no simulated market feed and no predictor: the server does nothing but the fan-out measured
        market_source="off",
        predictor_autostart=False,
        log_level="warning",
        log_format="console",
    )


def with_publisher(
    app: FastAPI, settings: Settings, control_port: int, concurrency: int, ws_protocol: str, lanes: int = 1
) -> FastAPI:
    """Wrap the app's lifespan: the publisher runs while the bus is open."""
    inner = app.router.lifespan_context

    @contextlib.asynccontextmanager
    async def lifespan(app_: FastAPI) -> AsyncIterator[object]:
        async with inner(app_) as state:
            bus = services_of(app_).bus

            def lane(channel: str, type: str, extra: dict[str, str]) -> Callable[[], Awaitable[int]]:
                async def publish() -> int:
                    event = await bus.publish(channel, type, {**extra, "error": str(time.time_ns())})
                    return event.id

                return publish

            publishers = [lane(channel, *LANES[channel]) for channel in list(LANES)[:lanes]]

            info = {
                "server": "signaldesk",
                "ws_protocol": ws_protocol,
                "bus": type(bus).__name__,
                "bus_synchronous": settings.bus_synchronous,
                "bus_prefix": settings.bus_prefix if settings.bus_url else None,
                "channels": list(LANES)[:lanes],
                "market_source": settings.market_source,
                "predictor_autostart": settings.predictor_autostart,
                "event_log": str(settings.event_log_path),
                "ws_buffer_bytes": settings.ws_buffer_bytes,
                "publish_concurrency": concurrency,
            }
            publisher = Publisher(publishers, concurrency=concurrency, info=info)
            await publisher.serve(control_port)
            try:
                yield state
            finally:
                await publisher.close()

    app.router.lifespan_context = lifespan
    return app


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.signaldesk_server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--control-port", type=int, required=True)
    p.add_argument("--data-dir", type=Path, required=True)
    p.add_argument("--concurrency", type=int, default=256, help="publishes in flight at once")
    p.add_argument("--bus-url", help="redis://host:port/db: the shared Redis Streams bus (default: SQLite)")
    p.add_argument("--bus-prefix", default="signaldesk", help="Redis key prefix of the cluster's log")
    p.add_argument(
        "--lanes",
        type=int,
        default=1,
        choices=range(1, len(LANES) + 1),
        help="publish round-robin over this many channels (prediction, hft, automation, training)",
    )
    args = p.parse_args()
    raise_fd_limit(4096)
    settings = bench_settings(args.port, args.data_dir, args.bus_url, args.bus_prefix)
    configure_logging(settings.log_level, settings.log_format)
    app = create_app(settings)
    config = uvicorn_config(app, settings)
    ws = config.ws if isinstance(config.ws, str) else f"{config.ws.__module__}.{config.ws.__qualname__}"
    with_publisher(app, settings, args.control_port, args.concurrency, ws, args.lanes)
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
