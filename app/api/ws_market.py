"""The market stream's frames: each BarSet encoded once and written to every market client.

`/api/ws/market` is ephemeral: frames carry `id: null`, nothing is stored, there is no replay
or resume. `MarketBroadcast.on_bars` is a MarketFeed listener (called inline on the feed's
task): it builds one `market.bars` envelope per BarSet, only when someone is listening, and
hands the same bytes to every open market stream; a client too far behind is closed with
4500 like on the other channels. The source's status goes out the same way as `market.status`:
once to each client right after `stream.ready` (`status_message`), then on every change
(`on_status`, a MarketStatusTracker listener).
"""

from __future__ import annotations

import secrets
import time

import numpy as np

from app.api.ws_frames import SharedMessage
from app.api.ws_streams import StreamRegistry
from app.bus.events import encode_envelope
from app.bus.subscription import ResumeOutcome
from app.events import MarketStatus
from app.market.bars import BarSet
from app.market.status import MarketStatusTracker

CHANNEL = "market"
BARS_TYPE = "market.bars"
STATUS_TYPE = "market.status"


def market_payload(bars: BarSet) -> dict[str, object]:
    """The `market.bars` payload (model: app.events.MarketBars); instruments without a
    complete bar (NaN anywhere) are left out."""
    fields = (bars.open, bars.high, bars.low, bars.close, bars.volume)
    present = np.flatnonzero(np.isfinite(np.vstack(fields)).all(axis=0))
    keys = [bars.instruments[i] for i in present.tolist()]
    o, h, l, c, v = (f[present].tolist() for f in fields)
    return {
        "interval": bars.interval.name,
        "ts": bars.open_ts,
        "close_ts": bars.close_ts,
        "bars": [
            {"instrument_key": k, "open": o_, "high": h_, "low": l_, "close": c_, "volume": v_}
            for k, o_, h_, l_, c_, v_ in zip(keys, o, h, l, c, v, strict=True)
        ],
    }


class MarketBroadcast:
    """Fans BarSets out to the market WebSocket streams held in `streams`."""

    def __init__(self, streams: StreamRegistry, status: MarketStatusTracker) -> None:
        self.streams = streams
        self.status = status
        self.epoch = secrets.token_hex(8)  # this server process's market stream
        status.add_listener(self.on_status)

    def outcome(self) -> ResumeOutcome:
        """What `stream.ready` says on the market stream: never resumed, nothing stored."""
        return ResumeOutcome(epoch=self.epoch, head_id=0, resumed=False, reason=None)

    def on_bars(self, bars: BarSet) -> None:
        if self.streams.count(CHANNEL) == 0:
            return
        data = encode_envelope(None, CHANNEL, BARS_TYPE, market_payload(bars), int(time.time()))
        self.streams.broadcast(CHANNEL, SharedMessage(data))

    def status_message(self) -> SharedMessage:
        """The current `market.status` frame: a new client's second frame, after `stream.ready`."""
        return _status_message(self.status.current)

    def on_status(self, status: MarketStatus) -> None:
        if self.streams.count(CHANNEL) == 0:
            return
        self.streams.broadcast(CHANNEL, _status_message(status))


def _status_message(status: MarketStatus) -> SharedMessage:
    payload = status.model_dump(mode="json")
    return SharedMessage(encode_envelope(None, CHANNEL, STATUS_TYPE, payload, int(time.time())))
