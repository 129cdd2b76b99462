"""Under an ASGI server without signaldesk's fast protocol the door still works, with plain sends."""

from __future__ import annotations

from pathlib import Path

from websockets.asyncio.client import connect

from tests.support.server import ServerProcess
from tests.support.ws import recv_events, recv_ready

PLAIN_UVICORN = """
import sys, uvicorn
from app.core.config import Settings
from app.main import create_app
port, data_dir = int(sys.argv[2]), sys.argv[4]
uvicorn.run(create_app(Settings(data_dir=data_dir, heartbeat_interval=0.5)), port=port, ws="websockets-sansio")
"""


async def test_stream_resume_and_heartbeat_over_plain_asgi_sends(tmp_path: Path) -> None:
    server = ServerProcess(tmp_path / "data", argv=["-c", PLAIN_UVICORN])
    server.start()
    try:
        first = server.publish("hft", "hft.error", {"error": "a"}).json()
        async with connect(server.ws("hft", after=0)) as ws:
            assert (await recv_ready(ws))["resumed"] is True
            assert [e["id"] for e in await recv_events(ws, 1)] == [first["id"]]
            second = server.publish("hft", "hft.error", {"error": "b"}).json()
            (event,) = await recv_events(ws, 1)
            assert (event["id"], event["payload"]) == (second["id"], {"error": "b"})
    finally:
        server.stop()
