"""A notification endpoint on loopback: the HTTP server apprise's `json://` URLs post to. It keeps
every message it answered 200, and is scriptable: answer 500 for the next few, or hang (hold
each request until released)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self) -> None:
        self.messages: list[dict[str, Any]] = []  # the JSON bodies answered 200, in order
        self.failed = 0  # requests answered 500
        self.held = 0  # requests hanging now
        self._fail_next = 0
        self._hanging = False
        self._release = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                receiver._answer(self, body)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.02,), name="notify-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self._server.server_port}/alerts"

    @property
    def titles(self) -> list[str]:
        return [m["title"] for m in self.messages]

    def start(self) -> Receiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.release()
        self._server.shutdown()
        self._server.server_close()

    def fail(self, n: int) -> None:
        """Answer the next `n` requests 500."""
        with self._lock:
            self._fail_next = n

    def hang(self) -> None:
        """Hold every request from now until `release`."""
        self._release.clear()
        self._hanging = True

    def release(self) -> None:
        self._hanging = False
        self._release.set()

    def _answer(self, handler: BaseHTTPRequestHandler, body: dict[str, Any]) -> None:
        if self._hanging:
            with self._lock:
                self.held += 1
            self._release.wait(30)
            with self._lock:
                self.held -= 1
            return  # the client gave up long ago; nothing to answer
        with self._lock:
            failing = self._fail_next > 0
            if failing:
                self._fail_next -= 1
                self.failed += 1
            else:
                self.messages.append(body)
        handler.send_response(500 if failing else 200)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
