"""Bytes on the wire: RFC 6455 server frames, built once per event and shared by every client."""

from __future__ import annotations

import struct
from collections.abc import Sequence

from app.bus.events import StoredEvent, encode_envelope

_TEXT_FIN = 0x81


def text_frame(data: bytes) -> bytes:
    """A complete unmasked text frame (server to client) carrying `data` (UTF-8 JSON)."""
    n = len(data)
    if n < 126:
        header = struct.pack("!BB", _TEXT_FIN, n)
    elif n < 1 << 16:
        header = struct.pack("!BBH", _TEXT_FIN, 126, n)
    else:
        header = struct.pack("!BBQ", _TEXT_FIN, 127, n)
    return header + data


def text_frames(events: Sequence[StoredEvent]) -> bytes:
    """One text frame per event, concatenated: what a subscriber's socket gets for a batch."""
    return b"".join([text_frame(e.data) for e in events])


def control_envelope(channel: str, type: str, payload: dict[str, object], ts: int) -> bytes:
    """A control frame's envelope: the event shape with `id` null."""
    return encode_envelope(None, channel, type, payload, ts)


class SharedMessage:
    """One message for many clients (an ephemeral stream's frame): framed once, on first use."""

    __slots__ = ("data", "_frame")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self._frame: bytes | None = None

    @property
    def frame(self) -> bytes:
        if self._frame is None:
            self._frame = text_frame(self.data)
        return self._frame
