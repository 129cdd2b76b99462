from __future__ import annotations

from datetime import datetime

import pytest

from app.market.calendar import IST, NseCalendar


def ist(text: str) -> int:
    """Epoch seconds of an IST wall time such as '2024-01-25 09:15'."""
    return int(datetime.fromisoformat(text).replace(tzinfo=IST).timestamp())


@pytest.fixture(scope="session")
def calendar() -> NseCalendar:
    return NseCalendar()
