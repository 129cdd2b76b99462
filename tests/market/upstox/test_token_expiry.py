"""The token's expiry from its JWT `exp`, and the warning about a token that will not last the
coming NSE session: in the feed's state at start and on every connect."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from app.market.calendar import NseCalendar
from app.market.upstox.state import FeedStatus
from app.market.upstox.token_expiry import coming_session, expiry_warning, token_expiry
from tests.market.conftest import ist
from tests.market.upstox.conftest import M, jwt, make_source, ms
from tests.market.upstox.fake import FakeUpstox, market_info_frame


def test_exp_is_read_from_the_jwt_payload_without_verifying() -> None:
    assert token_expiry(jwt({"sub": "AB1234", "exp": 1706220000, "iat": 1706160000})) == 1706220000
    assert token_expiry(jwt({"sub": "AB1234", "exp": 1706220000.7})) == 1706220000


@pytest.mark.parametrize(
    "token",
    [
        "good-token",  # not a JWT
        "a.b.c",  # not base64 JSON
        jwt({"sub": "AB1234"}),  # no exp
        jwt({"exp": "tomorrow"}),
        jwt({"exp": True}),
        jwt({"exp": -5}),
        "x." + "W10" + ".y",  # a JSON list, not claims
    ],
)
def test_a_token_without_a_readable_exp_has_an_unknown_expiry(token: str) -> None:
    assert token_expiry(token) is None


def test_the_coming_session_is_the_one_in_progress_or_the_next_trading_day(calendar: NseCalendar) -> None:
    thursday = (ist("2024-01-25 09:15"), ist("2024-01-25 15:30"))
    assert coming_session(calendar, ist("2024-01-25 03:00")) == thursday
    assert coming_session(calendar, ist("2024-01-25 15:29")) == thursday
    # Friday 2024-01-26 is Republic Day: after Thursday's close the coming session is Monday's.
    assert coming_session(calendar, ist("2024-01-25 15:30")) == (ist("2024-01-29 09:15"), ist("2024-01-29 15:30"))
    assert coming_session(calendar, ist("2024-12-31 16:00")) == (ist("2025-01-01 09:15"), ist("2025-01-01 15:30"))


def test_a_warning_only_for_a_token_that_ends_before_the_coming_session_closes(calendar: NseCalendar) -> None:
    night = ist("2024-01-25 02:00")
    warning = expiry_warning(ist("2024-01-25 03:30"), calendar, night)  # yesterday's token
    assert warning == (
        "the Upstox access token expires at 2024-01-25 03:30:00 IST, before the session of 2024-01-25 "
        "closes at 15:30 IST: renew it (signaldesk upstox login)"
    )
    assert expiry_warning(ist("2024-01-26 03:30"), calendar, night) is None  # today's lasts the session
    assert expiry_warning(None, calendar, night) is None  # unknown: no warning either way
    # After Thursday's close, a token expiring Friday 03:30 will not last Monday's session.
    evening = expiry_warning(ist("2024-01-26 03:30"), calendar, ist("2024-01-25 18:00"))
    assert evening is not None and "before the session of 2024-01-29 closes at 15:30 IST" in evening
    expired = expiry_warning(ist("2024-01-25 03:30"), calendar, ist("2024-01-25 10:00"))
    assert expired is not None and expired.startswith("the Upstox access token expired at 2024-01-25 03:30:00")


async def test_the_feed_state_has_the_expiry_and_the_warning_from_the_first_attempt(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any, caplog: pytest.LogCaptureFixture
) -> None:
    exp = int(time.time()) - 60  # cannot last any coming session
    short = jwt({"sub": "AB1234", "exp": exp})
    fake.tokens.add(short)
    token_file.write_text(short + "\n")
    consumer = consume(make_source(fake, token_file, calendar))
    state = await consumer.state(lambda s: s.warning is not None)
    assert state.token_expires_at == exp and state.warning is not None
    assert "renew it (signaldesk upstox login)" in state.warning
    assert any("renew it" in r.getMessage() and r.levelname == "WARNING" for r in caplog.records)
    await fake.wait_for(lambda: len(fake.requests) == 1)
    await fake.send(market_info_frame(ms(M + 1), "NORMAL_OPEN"))
    live = await consumer.state(lambda s: s.status is FeedStatus.LIVE)
    assert live.warning == state.warning  # the warning stays while the token is the same


async def test_a_renewed_token_read_on_reconnect_clears_the_warning(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    short = jwt({"exp": int(time.time()) - 60})
    lasting = jwt({"exp": int(time.time()) + 30 * 86400})
    fake.tokens.update({short, lasting})
    token_file.write_text(short)
    consumer = consume(make_source(fake, token_file, calendar))
    await fake.wait_for(lambda: len(fake.requests) == 1)
    assert consumer.source.state.warning is not None
    token_file.write_text(lasting)
    fake.drop()
    state = await consumer.state(lambda s: s.token_expires_at == token_expiry(lasting))
    assert state.warning is None
    await fake.wait_for(lambda: len(fake.requests) == 2)
    assert fake.authorize_tokens[-1] == lasting


async def test_a_token_that_is_not_a_jwt_has_no_expiry_and_no_warning(
    fake: FakeUpstox, token_file: Path, calendar: NseCalendar, consume: Any
) -> None:
    consumer = consume(make_source(fake, token_file, calendar))  # "good-token"
    await fake.wait_for(lambda: len(fake.requests) == 1)
    assert consumer.source.state.token_expires_at is None and consumer.source.state.warning is None
