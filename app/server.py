"""Running the app under uvicorn with signaldesk's WebSocket protocol."""

from __future__ import annotations

import uvicorn
from fastapi import FastAPI

from app.api.ws_transport import FanoutWSProtocol
from app.core.config import Settings


def uvicorn_config(app: FastAPI, settings: Settings) -> uvicorn.Config:
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
    )
