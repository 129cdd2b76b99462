"""Running the app under uvicorn with signaldesk's WebSocket protocol."""

from __future__ import annotations

from typing import Any

import uvicorn
from fastapi import FastAPI
from uvicorn.supervisors import Multiprocess

from app.api.ws_transport import FanoutWSProtocol
from app.core.config import Settings

APP_FACTORY = "app.main:app_from_environment"


def uvicorn_config(app: FastAPI | str, settings: Settings, **options: Any) -> uvicorn.Config:
    """The server configuration every entry point uses (CLI, benchmarks, tests)."""
    return uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        ws=FanoutWSProtocol,
        ws_max_size=settings.ws_max_client_frame,
        ws_per_message_deflate=False,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        **options,
    )


def serve_processes(settings: Settings, workers: int) -> None:
    """`workers` server processes on one listening socket, under uvicorn's supervisor (which
    restarts a process that dies). Each child builds its app from the environment, which the
    caller has made match `settings`."""
    config = uvicorn_config(APP_FACTORY, settings, factory=True, workers=workers)
    Multiprocess(config, sockets=[config.bind_socket()]).run()
