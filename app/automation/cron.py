"""Cron expressions in an exchange's time zone: validation and the slots around a moment."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter

DEFAULT_TIMEZONE = "Asia/Kolkata"


class CronError(ValueError):
    pass


def check_cron(expression: str) -> str:
    """The expression when it is a valid 5-field cron expression; CronError otherwise."""
    text = " ".join(expression.split())
    if len(text.split(" ")) != 5 or not croniter.is_valid(text):
        raise CronError(f"invalid cron expression {expression!r}: five fields, minute hour day month weekday")
    return text


def check_timezone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as e:
        raise CronError(f"unknown time zone {name!r} (an IANA name such as Asia/Kolkata)") from e
    return name


def next_slot(expression: str, timezone: str, after: float) -> float:
    """The first slot strictly after `after` (UTC epoch seconds)."""
    base = datetime.fromtimestamp(after, ZoneInfo(timezone))
    return float(croniter(expression, base).get_next(float))


def last_slot(expression: str, timezone: str, at: float) -> float:
    """The latest slot at or before `at`."""
    base = datetime.fromtimestamp(at + 1, ZoneInfo(timezone))
    return float(croniter(expression, base).get_prev(float))
