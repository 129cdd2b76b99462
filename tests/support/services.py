"""The external services the scale-out tests talk to: real Redis and PostgreSQL on this machine.

A missing service fails its tests (CI must never pass by skipping them). On a machine without
them, `SIGNALDESK_TEST_SERVICES=optional make test` skips those tests instead, and the run's
summary names each skipped service and why.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import socket
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from urllib.parse import urlsplit

import pytest

REDIS_URL = os.environ.get("SIGNALDESK_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
POSTGRES_URL = os.environ.get("SIGNALDESK_TEST_POSTGRES_URL", "postgresql://127.0.0.1:5432/postgres")
OPTIONAL = os.environ.get("SIGNALDESK_TEST_SERVICES", "required") == "optional"
SKIP_NOTE = "skipped because SIGNALDESK_TEST_SERVICES=optional"


def _reachable(url: str) -> str | None:
    """None when a TCP connection to the URL's host and port succeeds, else the error."""
    parts = urlsplit(url)
    try:
        with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 0), timeout=2):
            return None
    except OSError as e:
        return str(e)


def require(name: str, url: str) -> None:
    """Fail the calling test when `name` is not reachable at `url` (skip it when optional)."""
    problem = _reachable(url)
    if problem is None:
        return
    message = f"{name} is not reachable at {url} ({problem})"
    if OPTIONAL:
        pytest.skip(f"{message}; {SKIP_NOTE}")
    pytest.fail(f"{message}; these tests need it (SIGNALDESK_TEST_SERVICES=optional skips them)", pytrace=False)


def require_redis() -> str:
    require("Redis", REDIS_URL)
    return REDIS_URL


def delete_keys(prefix: str, *extra: str) -> None:
    """Delete every Redis key under `prefix:` (and the `extra` keys named)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL)
    try:
        keys = [*client.scan_iter(f"{prefix}:*"), *extra]
        if keys:
            client.delete(*keys)
    finally:
        client.close()


@contextmanager
def redis_prefix() -> Iterator[str]:
    """A key prefix of its own for one test on the real Redis; its keys are deleted afterwards."""
    require_redis()
    prefix = f"test-{secrets.token_hex(6)}"
    try:
        yield prefix
    finally:
        delete_keys(prefix)


def _admin(statement: str) -> None:
    """Run one statement on the maintenance database, on a thread of its own (callable anywhere)."""
    import asyncpg

    async def run() -> None:
        conn = await asyncpg.connect(POSTGRES_URL)
        try:
            await conn.execute(statement)
        finally:
            await conn.close()

    with ThreadPoolExecutor(1) as thread:
        thread.submit(asyncio.run, run()).result()


@contextmanager
def postgres_database() -> Iterator[str]:
    """A new, empty PostgreSQL database for one test, dropped afterwards; yields its asyncpg URL."""
    require("PostgreSQL", POSTGRES_URL)
    name = f"sd_test_{secrets.token_hex(6)}"
    _admin(f'CREATE DATABASE "{name}"')
    parts = urlsplit(POSTGRES_URL)
    try:
        yield f"postgresql+asyncpg://{parts.netloc}/{name}"
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
