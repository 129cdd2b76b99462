"""The Redis side of distributed jobs: arq's queue, abort requests, and holders' leases.

Keys (under the bus prefix, so one deployment shares them):
  {prefix}:jobs:queue           arq's queue (a sorted set of job ids); arq keeps its own
                                `arq:job:<id>`, `arq:in-progress:<id>`, `arq:retry:<id>` and
                                its abort set `arq:abort` (job ids are unique, so deployments
                                sharing a Redis never meet); `:health-check` beside the
                                queue is arq's
  {prefix}:jobs:holders         hash job id -> the process that holds it (runs it, or has it
                                waiting for a slot)
  {prefix}:jobs:lease:<holder>  a holder's lease, renewed every tick, gone `lease` seconds
                                after its process stopped renewing it

Every process that holds jobs (a `signaldesk worker`, or a server running a job bound to its
own live state) is a holder with a lease. A job whose holder's lease has lapsed is ended
`failed` by whichever process notices first (JobRunner.reap); the store's conditional
transitions make that exactly one end, with one terminal event.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Any

from arq.connections import ArqRedis, RedisSettings, create_pool
from arq.constants import abort_jobs_ss
from arq.utils import timestamp_ms
from arq.worker import Worker, func
from redis.exceptions import RedisError

RUN_JOB = "run_job"  # the one arq function: run the stored job with this id


class RedisJobQueue:
    """:param url: the Redis URL (redis://, rediss://, unix://).
    :param prefix: the deployment's key prefix (SIGNALDESK_BUS_PREFIX).
    :param lease: seconds a holder may go silent before its jobs are ended failed.
    :param role: `worker` or `server`: the first word of this process's holder id."""

    def __init__(self, url: str, *, prefix: str, lease: float, role: str) -> None:
        self.settings = RedisSettings.from_dsn(url)
        self.queue_name = f"{prefix}:jobs:queue"
        self.lease = lease
        self.holder = f"{role} {socket.gethostname()}:{os.getpid()}:{secrets.token_hex(2)}"
        self._holders_key = f"{prefix}:jobs:holders"
        self._lease_prefix = f"{prefix}:jobs:lease:"
        self._redis: ArqRedis | None = None

    @property
    def redis(self) -> ArqRedis:
        if self._redis is None:
            raise RuntimeError("the job queue is not open")
        return self._redis

    async def open(self) -> None:
        """Connect and take this process's lease."""
        self._redis = await create_pool(self.settings, default_queue_name=self.queue_name)
        await self.renew_lease()

    async def close(self) -> None:
        """Give up the lease (this process holds nothing any more) and disconnect."""
        if self._redis is not None:
            with contextlib.suppress(RedisError, OSError):  # unreachable: the lease lapses by itself
                await self._redis.delete(self._lease_prefix + self.holder)
            await self._redis.aclose()
            self._redis = None

    # --- the queue ----------------------------------------------------------------------

    async def enqueue(self, job_id: str) -> None:
        await self.redis.enqueue_job(RUN_JOB, job_id, _job_id=job_id, _queue_name=self.queue_name)

    async def in_queue(self, job_id: str) -> bool:
        """Whether arq still has the job (waiting, or taken and not finished)."""
        return await self.redis.zscore(self.queue_name, job_id) is not None

    async def request_abort(self, job_id: str) -> None:
        """arq's abort request (`Job.abort` without waiting): the job's id in arq's abort set."""
        await self.redis.zadd(abort_jobs_ss, {job_id: timestamp_ms()})

    async def abort_requests(self, job_ids: Sequence[str]) -> list[str]:
        """Those of `job_ids` whose abort was requested."""
        async with self.redis.pipeline(transaction=False) as pipe:
            for job_id in job_ids:
                pipe.zscore(abort_jobs_ss, job_id)
            scores = await pipe.execute()
        return [job_id for job_id, score in zip(job_ids, scores, strict=True) if score is not None]

    async def forget_aborts(self, job_ids: Sequence[str]) -> None:
        if job_ids:
            await self.redis.zrem(abort_jobs_ss, *job_ids)

    # --- holders and leases -------------------------------------------------------------

    async def renew_lease(self) -> bool:
        """Renew this process's lease; False when it had lapsed (others may have ended its jobs)."""
        before = await self.redis.set(self._lease_prefix + self.holder, b"1", px=int(self.lease * 1000), get=True)
        return before is not None

    async def hold(self, job_id: str) -> None:
        await self.redis.hset(self._holders_key, job_id, self.holder)  # type: ignore[misc]  # redis-py types its commands for the sync and async clients at once

    async def release(self, job_id: str) -> None:
        await self.redis.hdel(self._holders_key, job_id)  # type: ignore[misc]  # redis-py types its commands for the sync and async clients at once

    async def holders(self, job_ids: Sequence[str]) -> dict[str, str]:
        """The holder of each of `job_ids` that has one."""
        if not job_ids:
            return {}
        values = await self.redis.hmget(self._holders_key, list(job_ids))  # type: ignore[misc]  # redis-py types its commands for the sync and async clients at once
        return {job_id: v.decode() for job_id, v in zip(job_ids, values, strict=True) if v is not None}

    async def alive(self, holders: Iterable[str]) -> set[str]:
        """Those of `holders` whose lease has not lapsed."""
        names = sorted(set(holders))
        async with self.redis.pipeline(transaction=False) as pipe:
            for name in names:
                pipe.exists(self._lease_prefix + name)
            found = await pipe.execute()
        return {name for name, n in zip(names, found, strict=True) if n}

    # --- the worker's side --------------------------------------------------------------

    def worker(self, run: Callable[[str], Awaitable[Any]], *, concurrency: int, timeout: float) -> Worker:
        """An arq worker that takes up to `concurrency` jobs at once and awaits `run(job_id)` for each.

        The runner enforces each kind's timeout and ends every job itself, so arq only
        transports: no retries on errors, no kept results, and a timeout beyond the longest
        kind's. `max_tries=2`: arq runs a job a second time only when the in-progress key of a
        worker that died with it has expired; `run` then finds the job already ended (or, if
        that worker died before claiming it, still queued, and runs it).
        """

        async def run_job(ctx: dict[str, Any], job_id: str) -> None:
            await run(job_id)

        return Worker(
            functions=[func(run_job, name=RUN_JOB, timeout=timeout, max_tries=2, keep_result=0)],
            queue_name=self.queue_name,
            redis_settings=self.settings,
            max_jobs=concurrency,
            handle_signals=False,
            retry_jobs=False,
            keep_result=0,
            poll_delay=0.2,
        )
