"""A full disk answered, not crashed: a real server whose data directory is a small tmpfs this test
mounts (it needs root and mount rights: CI runs as root here; elsewhere it is skipped, saying
so). Filled up, every publish is answered 503 naming the data directory and the cause, with
Retry-After, and /api/health says `degraded` why; freed, writes succeed again without a
restart, health is `ok`, and every acknowledged event replays, none of the refused ones."""

from __future__ import annotations

import contextlib
import errno
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.support.server import ServerProcess

SIZE = "24m"


@contextlib.contextmanager
def small_disk(where: Path) -> Iterator[Path]:
    where.mkdir(parents=True)
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(where)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root and mount rights): {mounted.stderr.decode().strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(disk: Path) -> Path:
    """Fill the disk to its last byte; the filler file (delete it to free the space)."""
    filler = disk / "filler"
    fd = os.open(filler, os.O_WRONLY | os.O_CREAT)
    try:
        for size in (1 << 20, 4096, 1):
            try:
                while os.write(fd, b"\0" * size):
                    pass
            except OSError as e:
                assert e.errno == errno.ENOSPC, e
    finally:
        os.close(fd)
    return filler


def publish(server: ServerProcess, n: int) -> httpx.Response:
    payload = {"job_id": f"disk-{n}", "progress": 0.5, "message": "x" * 2000, "metrics": {}}
    return server.publish("training", "training.progress", payload, timeout=10)


@pytest.mark.skipif(os.geteuid() != 0, reason="mounting a tmpfs needs root")
def test_a_full_data_directory_is_answered_503_then_recovers_with_nothing_acknowledged_lost(tmp_path: Path) -> None:
    with small_disk(tmp_path / "disk") as disk:
        data_dir = disk / "data"
        server = ServerProcess(data_dir, {"SIGNALDESK_MARKET_SOURCE": "off"})
        server.start()
        try:
            acknowledged = []
            for n in range(5):
                answer = publish(server, n)
                assert answer.status_code == 201, answer.text
                acknowledged.append(answer.json()["id"])

            filler = fill(disk)
            refused = 0
            for n in range(5, 200):  # until the WAL's free pages are used up too
                answer = publish(server, n)
                if answer.status_code == 201:
                    acknowledged.append(answer.json()["id"])
                    continue
                assert answer.status_code == 503, answer.text
                detail = answer.json()["detail"]
                assert str(data_dir) in detail and "no space left on device" in detail, detail
                assert "Traceback" not in answer.text and answer.headers["Retry-After"] == "10"
                refused += 1
                if refused == 3:
                    break
            assert refused == 3, "the full disk never refused a publish"
            health = httpx.get(f"{server.http}/api/health", timeout=10).json()
            assert health["status"] == "degraded" and "no space left on device" in health["reason"], health

            filler.unlink()
            answer = publish(server, 1000)
            assert answer.status_code == 201, answer.text
            acknowledged.append(answer.json()["id"])
            health = httpx.get(f"{server.http}/api/health", timeout=10).json()
            assert (health["status"], health.get("reason")) == ("ok", None)

            page = httpx.get(f"{server.http}/api/events", params={"channel": "training", "limit": 1000}, timeout=10)
            assert [e["id"] for e in page.json()["events"]] == acknowledged
        finally:
            server.stop()
