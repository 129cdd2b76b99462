"""Requests only the leader can answer, carried to it over Redis (no sticky sessions needed).

A follower pushes the request onto `{prefix}:leader:requests` with a reply key and a deadline,
then waits on the reply key. The leader pops requests, answers each on a task of its own and
pushes the answer onto the reply key (kept a minute). A request whose deadline passed before
the leader took it is dropped unanswered, so a command the caller already saw fail (504) is
never carried out late. Requests and answers are plain JSON-able dicts: this module knows
nothing of HTTP.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
import redis.asyncio as aioredis

log = logging.getLogger(__name__)

Message = dict[str, Any]
Answer = Callable[[Message], Awaitable[Message]]
REPLY_TTL = 60


class RelayTimeout(Exception):
    """No leader answered within the timeout (none elected, or it died while answering)."""


class LeaderRelay:
    def __init__(self, url: str, *, prefix: str, timeout: float = 10.0) -> None:
        self.timeout = timeout
        self._redis = aioredis.from_url(url)
        self._queue = f"{prefix}:leader:requests"
        self._replies = f"{prefix}:leader:reply:"
        self._answering: set[asyncio.Task[None]] = set()

    async def ask(self, request: Message) -> Message:
        """Carry `request` to the leader and return its answer; RelayTimeout when none came."""
        reply = self._replies + secrets.token_hex(12)
        deadline = time.time() + self.timeout
        await self._redis.lpush(self._queue, orjson.dumps({**request, "reply": reply, "deadline": deadline}))
        got = await self._redis.brpop([reply], timeout=max(1, round(self.timeout)))
        if got is None:
            raise RelayTimeout(f"no leader answered within {self.timeout:g} s")
        answer: Message = orjson.loads(got[1])
        return answer

    async def serve(self, answer: Answer) -> None:
        """On the leader, until cancelled: answer every request that is still wanted."""
        try:
            while True:
                got = await self._redis.brpop([self._queue], timeout=1)
                if got is None:
                    continue
                request: Message = orjson.loads(got[1])
                if request["deadline"] < time.time():
                    log.warning(
                        "dropped a relayed %s %s: its caller gave up", request.get("method"), request.get("path")
                    )
                    continue
                task = asyncio.create_task(self._answer(request, answer))
                self._answering.add(task)
                task.add_done_callback(self._answering.discard)
        finally:
            for task in list(self._answering):
                with contextlib.suppress(asyncio.CancelledError):
                    await task

    async def _answer(self, request: Message, answer: Answer) -> None:
        reply = request.pop("reply")
        request.pop("deadline")
        result = await answer(request)
        async with self._redis.pipeline(transaction=True) as pipe:
            await pipe.lpush(reply, orjson.dumps(result)).expire(reply, REPLY_TTL).execute()

    async def close(self) -> None:
        await self._redis.aclose()
