"""The bus a process uses, chosen by its settings (the server and `signaldesk worker` both build it here)."""

from __future__ import annotations

from app.bus.base import BaseEventBus, Retention
from app.bus.local import LocalEventBus
from app.bus.redis_bus import RedisEventBus
from app.bus.sqlite_log import SqliteEventLog
from app.core.config import Settings
from app.events import ContractValidator


def build_bus(settings: Settings) -> BaseEventBus:
    """The Redis Streams bus when SIGNALDESK_BUS_URL is set, else the embedded SQLite log."""
    retention = Retention(
        max_events=settings.retention_max_events,
        max_age=settings.retention_max_age,
        interval=settings.retention_interval,
    )
    if settings.bus_url is not None:
        return RedisEventBus(settings.bus_url, ContractValidator(), prefix=settings.bus_prefix, retention=retention)
    log = SqliteEventLog(settings.event_log_path, synchronous=settings.bus_synchronous)
    return LocalEventBus(log, ContractValidator(), retention=retention)
