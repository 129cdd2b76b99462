"""A notification endpoint on loopback for every notify test, and a notifier on a trading rig."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest

from app.notify.notifier import Notifier
from tests.notify.receiver import Receiver
from tests.trading.rig import Rig, make_rig

FAST = {"notify_batch_window": 0.2, "notify_timeout": 0.5, "notify_retries": 3, "notify_backoff": 0.05}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver().start()
    yield server
    server.stop()


class Desk:
    """A trading rig (real bus, database, engine, feed) with a notifier subscribed to it."""

    def __init__(self, rig: Rig, notifier: Notifier) -> None:
        self.rig = rig
        self.notifier = notifier

    async def close(self) -> None:
        await self.notifier.stop()
        await self.rig.close()


async def notifying_desk(tmp_path: Path, receiver: Receiver | None, **settings: Any) -> Desk:
    urls = {"notify_urls": receiver.url} if receiver is not None else {}
    rig = await make_rig(tmp_path, **{**FAST, **urls, **settings})
    notifier = Notifier.from_settings(
        rig.settings, bus=rig.bus, feed=rig.feed, market_status=None, trades=rig.service.store
    )
    await notifier.start()
    return Desk(rig, notifier)


@pytest.fixture
async def desk(tmp_path: Path, receiver: Receiver) -> AsyncIterator[Desk]:
    made = await notifying_desk(tmp_path, receiver)
    yield made
    await made.close()
