"""The shared bus: Redis Streams, one log for many API processes.

Keys (under `prefix`, default "signaldesk"):
  {prefix}:seq              counter (INCRBY): the one id sequence of the whole bus
  {prefix}:epoch            identity of this log; gone when Redis lost its data
  {prefix}:stream:{channel} one stream per channel; entry id "<event id>-0",
                            fields d (envelope JSON), t (type), s (ts)
  {prefix}:floor:{channel}  highest id retention deleted from the channel

A Lua script checks the epoch, takes the batch's consecutive ids with one INCRBY and XADDs
every event of the batch in one atomic step (one call per batch, a few large arguments), so
ids enter every stream in global order and a reader's single XREAD over all channels sees a
consistent prefix of the log. Every process (the publisher's own included) fans events out
from its reader, so every subscriber anywhere sees the same order; the reader takes XREAD's
reply raw and decodes each entry once, and only for channels this process has subscribers on.

Durability is Redis's: run it with `appendonly yes` and `appendfsync always` for an event to
survive a Redis crash once `publish` returned (`everysec` risks the last second). A Redis
that lost its data has no epoch key: the next publish or reader check notices, a new epoch
is made, and local subscribers are told their log is gone, so resuming clients get
`epoch_changed`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import struct
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ResponseError

from app.bus.base import BaseEventBus, Pending, ReplaySource
from app.bus.errors import ReplayOvertaken
from app.bus.events import StoredEvent, encode_envelope
from app.bus.interface import PayloadValidator

log = logging.getLogger(__name__)

EPOCH_LOST = "SIGNALDESK_EPOCH"

# One call per batch. ARGV: epoch, ts, the batch's event count, then per run of events of
# one channel and type: the stream key, the type, the run's event count, the envelopes
# without their '{"id":<id>' head concatenated, and their lengths (little-endian uint32s).
# One INCRBY takes the batch's consecutive ids; the reply is the last of them. (A few large
# arguments instead of two per event: packing a command costs the client ~1.5 us per
# argument, more than XADD costs Redis.)
APPEND = f"""
if redis.call('GET', KEYS[2]) ~= ARGV[1] then return redis.error_reply('{EPOCH_LOST}') end
local ts = ARGV[2]
local id = redis.call('INCRBY', KEYS[1], ARGV[3]) - tonumber(ARGV[3])
for i = 4, #ARGV, 5 do
  local key, type, tails, lengths = ARGV[i], ARGV[i + 1], ARGV[i + 3], ARGV[i + 4]
  local at = 1
  for k = 1, tonumber(ARGV[i + 2]) do
    local length = struct.unpack('<I4', lengths, 4 * k - 3)
    local tail = string.sub(tails, at, at + length - 1)
    id = id + 1
    redis.call('XADD', key, id .. '-0', 'd', '{{"id":' .. id .. tail, 't', type, 's', ts)
    at = at + length
  end
end
return id
"""

TRIM = """
local cut = tonumber(ARGV[1])
if cut > tonumber(redis.call('GET', KEYS[1]) or '0') then redis.call('SET', KEYS[1], cut) end
return redis.call('XTRIM', KEYS[2], 'MINID', (cut + 1) .. '-0')
"""

ID_PREFIX = b'{"id":0'


def _entry_id(event_id: int) -> str:
    return f"{event_id}-0"


class RedisEventBus(BaseEventBus):
    """EventBus on Redis Streams, shared by every process that uses the same Redis and prefix.

    :param url: e.g. redis://127.0.0.1:6379/0; other options as BaseEventBus.
    :param prefix: key prefix; processes of one deployment share it.
    :param block_ms: how long the reader waits for new entries before it checks the epoch.
    """

    dispatches_appends = False

    def __init__(
        self, url: str, validator: PayloadValidator, *, prefix: str = "signaldesk", block_ms: int = 1000, **options: Any
    ) -> None:
        super().__init__(validator, **options)
        self._redis = aioredis.from_url(url)
        self._reader_redis = aioredis.from_url(url)  # its connection blocks in XREAD
        self._reader_redis.set_response_callback("XREAD", _raw)  # [[key, [[id, [field, value, ...]], ...]], ...]
        self._prefix = prefix
        self._block_ms = block_ms
        self._seq_key = f"{prefix}:seq"
        self._epoch_key = f"{prefix}:epoch"
        self._streams = {channel: f"{prefix}:stream:{channel}" for channel in self.channels}
        self._channel_of = {key.encode(): channel for channel, key in self._streams.items()}
        self._key_names = {key.encode(): key for key in self._streams.values()}
        self._positions: dict[str, str] = {}
        self._append_script = self._redis.register_script(APPEND)
        self._trim_script = self._redis.register_script(TRIM)
        self._epoch_lock = asyncio.Lock()

    def _floor_key(self, channel: str) -> str:
        return f"{self._prefix}:floor:{channel}"

    # --- storage ------------------------------------------------------------------------

    async def _open(self) -> int:
        await self._redis.set(self._epoch_key, secrets.token_hex(8), nx=True)
        self._epoch = (await self._redis.get(self._epoch_key)).decode()
        head = 0
        for key in self._streams.values():
            last = await self._redis.xrevrange(key, count=1)
            self._positions[key] = last[0][0].decode() if last else "0-0"
            head = max(head, int(last[0][0].split(b"-")[0]) if last else 0)
        return head

    async def _current_head(self) -> int:
        """The last id any process stored: this reader may lag behind it by a moment, and what
        it delivers up to here later is cut as already replayed."""
        return int(await self._redis.get(self._seq_key) or 0)

    async def _close_storage(self) -> None:
        await self._redis.aclose()
        await self._reader_redis.aclose()

    def _background(self) -> list[asyncio.Task[None]]:
        return [asyncio.create_task(self._read_loop())]

    async def _append(self, pending: list[Pending], ts: int) -> list[list[StoredEvent]]:
        # ARGV as APPEND reads it: consecutive events of one channel and type share one run
        args: list[Any] = [self._epoch, ts, 0]
        tails: list[bytes] = []
        run: tuple[str, str] | None = None
        start = 0  # index in tails where the current run starts
        for p in pending:
            stream = self._streams[p.channel]
            for type, payload in p.events:
                if run != (stream, type):
                    if run is not None:
                        args += _run(run, tails, start)
                    run, start = (stream, type), len(tails)
                tails.append(encode_envelope(0, p.channel, type, payload, ts)[len(ID_PREFIX) :])
        if run is not None:
            args += _run(run, tails, start)
        args[2] = len(tails)
        keys = [self._seq_key, self._epoch_key]
        try:
            last = await self._append_script(keys=keys, args=args)
        except ResponseError as e:
            if EPOCH_LOST not in str(e):
                raise
            await self._replace_epoch()
            args[0] = self._epoch
            last = await self._append_script(keys=keys, args=args)
        next_id = int(last) - len(tails) + 1
        stored: list[list[StoredEvent]] = []
        at = 0
        for p in pending:
            group = []
            for type, _ in p.events:
                group.append(StoredEvent(next_id, p.channel, type, ts, b'{"id":%d%b' % (next_id, tails[at])))
                next_id += 1
                at += 1
            stored.append(group)
        return stored

    async def _read_loop(self) -> None:
        """Fan out every new entry of every channel, in id order; check the epoch when idle.

        XREAD replies come raw (no per-entry dict): entries are decoded once, straight into
        StoredEvents, and only for channels with a local subscriber; the others only move
        their position on.
        """
        while not self._stopping.is_set():
            try:
                reply = await self._reader_redis.xread(self._positions, block=self._block_ms)
            except Exception:
                log.exception("reading the event streams failed; retrying")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), 1.0)
                continue
            if not reply:
                if (await self._redis.get(self._epoch_key) or b"").decode() != self._epoch:
                    await self._replace_epoch()
                continue
            events: list[StoredEvent] = []
            top = self._head
            for key, entries in reply:
                last = entries[-1][0]
                name = self._key_names[key]
                self._positions[name] = last.decode()
                top = max(top, int(last[:-2]))
                channel = self._channel_of[key]
                if self._fanout.count(channel):
                    events += _raw_events(channel, entries)
            if len(reply) > 1:
                events.sort(key=_by_id)
            self._dispatch(events)
            self._head = max(self._head, top)

    async def _replace_epoch(self) -> None:
        """Redis lost the log: start a new one and tell every local subscriber theirs is gone."""
        async with self._epoch_lock:
            current = await self._redis.get(self._epoch_key)
            if current is not None and current.decode() != self._epoch:
                self._epoch = current.decode()  # another process already made the new epoch
            elif current is None:
                await self._redis.set(self._epoch_key, secrets.token_hex(8), nx=True)
                self._epoch = (await self._redis.get(self._epoch_key)).decode()
            else:
                return
            log.warning("the Redis event log was replaced; new epoch", extra={"epoch": self._epoch})
            self._positions = {key: "0-0" for key in self._streams.values()}
            self._head = 0
            self._fanout.lose_all()

    async def _history(self, channel: str, after: int, limit: int) -> list[StoredEvent]:
        return _events(channel, await self._redis.xrange(self._streams[channel], min=_entry_id(after + 1), count=limit))

    async def _floor(self, channel: str) -> int:
        return int(await self._redis.get(self._floor_key(channel)) or 0)

    async def _replay_source(self, channel: str) -> ReplaySource:
        return _StreamSource(self, channel, await self._floor(channel))

    async def _prune(self, *, max_events: int, min_ts: int) -> int:
        deleted = 0
        for channel, key in self._streams.items():
            cut = 0
            excess = await self._redis.xlen(key) - max_events
            if excess > 0:
                cut = int((await self._redis.xrange(key, count=excess))[-1][0].split(b"-")[0])
            cut = max(cut, await self._last_older_than(key, min_ts))
            if cut:
                deleted += int(await self._trim_script(keys=[self._floor_key(channel), key], args=[cut]))
        return deleted

    async def _last_older_than(self, key: str, min_ts: int, page: int = 1000) -> int:
        """The highest id in the stream whose event ts < min_ts (0 when none); oldest come first."""
        last, start = 0, "-"
        while True:
            entries = await self._redis.xrange(key, min=start, count=page)
            for entry_id, fields in entries:
                if int(fields[b"s"]) >= min_ts:
                    return last
                last = int(entry_id.split(b"-")[0])
            if len(entries) < page:
                return last
            start = _entry_id(last + 1)


def _events(channel: str, entries: list[tuple[bytes, dict[bytes, bytes]]]) -> list[StoredEvent]:
    return [
        StoredEvent(int(entry_id.split(b"-")[0]), channel, fields[b"t"].decode(), int(fields[b"s"]), fields[b"d"])
        for entry_id, fields in entries
    ]


def _run(run: tuple[str, str], tails: list[bytes], start: int) -> list[Any]:
    """APPEND's arguments for the events tails[start:] of one (stream, type)."""
    part = tails[start:]
    return [run[0], run[1], len(part), b"".join(part), struct.pack(f"<{len(part)}I", *map(len, part))]


def _raw(response: Any, **options: Any) -> Any:
    return response


def _by_id(event: StoredEvent) -> int:
    return event.id


def _raw_events(channel: str, entries: list[list[Any]]) -> list[StoredEvent]:
    """Raw XREAD entries `[b"<id>-0", [b"d", data, b"t", type, b"s", ts]]`, fields in the order
    APPEND writes them."""
    return [StoredEvent(int(entry_id[:-2]), channel, f[3].decode(), int(f[5]), f[1]) for entry_id, f in entries]


class _StreamSource:
    """Pages of one stream; refuses to go on once retention has trimmed past the replay."""

    def __init__(self, bus: RedisEventBus, channel: str, floor: int) -> None:
        self._bus = bus
        self._channel = channel
        self.floor = floor

    async def read_after(self, after: int, limit: int) -> list[StoredEvent]:
        events = await self._bus._history(self._channel, after, limit)
        if await self._bus._floor(self._channel) > after:
            raise ReplayOvertaken(f"retention trimmed {self._channel} past id {after} during a replay")
        return events

    async def close(self) -> None:
        pass
