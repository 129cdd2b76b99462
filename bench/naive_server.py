"""The naive FastAPI baseline: a set of accepted WebSockets and a loop of `send_text`.

Its publisher encodes each event once (orjson) and then awaits `websocket.send_text(text)`
for every client in turn: what a FastAPI tutorial's broadcast does. It speaks the same
envelope as signaldesk (`stream.ready` first, then `{id, channel, type, payload, ts}` with ids
1, 2, 3, ...), so the same load client measures both. Runs under plain uvicorn with its
defaults (WebSocket implementation `auto`), on loopback, durability not applicable.

    python -m bench.naive_server --port P --control-port C
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import time
from collections.abc import AsyncIterator

import orjson
import uvicorn
from fastapi import FastAPI, WebSocket
from starlette.websockets import WebSocketDisconnect

from bench.load_client import raise_fd_limit
from bench.publisher import Publisher

CHANNEL = "prediction"
TYPE = "predictor.error"


def build_app(control_port: int) -> FastAPI:
    clients: set[WebSocket] = set()
    next_id = 0

    async def publish() -> int:
        nonlocal next_id
        next_id += 1
        event_id = next_id
        text = orjson.dumps(
            {
                "id": event_id,
                "channel": CHANNEL,
                "type": TYPE,
                "payload": {"error": str(time.time_ns())},
                "ts": int(time.time()),
            }
        ).decode()
        for websocket in list(clients):
            try:
                await websocket.send_text(text)
            except Exception:
                clients.discard(websocket)
        return event_id

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        from uvicorn.protocols.websockets.auto import AutoWebSocketsProtocol

        ws_impl = (
            getattr(AutoWebSocketsProtocol, "__module__", "?") + "." + getattr(AutoWebSocketsProtocol, "__name__", "?")
        )
        publisher = Publisher(publish, concurrency=1, info={"server": "naive", "ws_protocol": ws_impl})
        await publisher.serve(control_port)
        try:
            yield
        finally:
            await publisher.close()

    app = FastAPI(lifespan=lifespan)

    @app.websocket("/api/ws/{channel}")
    async def stream(websocket: WebSocket, channel: str) -> None:
        await websocket.accept()
        ready = {"epoch": "naive", "head_id": next_id, "resumed": False, "reason": None, "heartbeat_interval": 15.0}
        await websocket.send_text(
            orjson.dumps(
                {"id": None, "channel": channel, "type": "stream.ready", "payload": ready, "ts": int(time.time())}
            ).decode()
        )
        clients.add(websocket)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
        except WebSocketDisconnect:
            pass
        finally:
            clients.discard(websocket)

    return app


def main() -> None:
    p = argparse.ArgumentParser(prog="python -m bench.naive_server")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--control-port", type=int, required=True)
    args = p.parse_args()
    raise_fd_limit(4096)
    logging.basicConfig(level=logging.WARNING)
    config = uvicorn.Config(build_app(args.control_port), host="127.0.0.1", port=args.port, log_level="warning")
    uvicorn.Server(config).run()


if __name__ == "__main__":
    main()
