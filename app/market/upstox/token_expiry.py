"""When an Upstox access token expires, and whether it lasts the coming NSE session.

Upstox access tokens expire at 03:30 IST the next day and the token answer carries no expiry;
the tokens are JWTs, so the one readable expiry is the payload's `exp` claim. It is decoded
without verifying the signature (only Upstox can do that; we only want the date). A token that
is not a JWT, or has no numeric `exp`, has an unknown expiry: no warning either way.
"""

from __future__ import annotations

import base64
import binascii
import json
from datetime import datetime

from app.market.calendar import IST, NseCalendar


def token_expiry(token: str) -> int | None:
    """The JWT `exp` claim of `token` (UTC epoch seconds), or None when it cannot be read."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    payload = parts[1] + "=" * (-len(parts[1]) % 4)
    try:
        claims = json.loads(base64.urlsafe_b64decode(payload.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error):
        return None
    exp = claims.get("exp") if isinstance(claims, dict) else None
    if isinstance(exp, bool) or not isinstance(exp, int | float) or not 0 <= exp < 2**40:
        return None
    return int(exp)


def coming_session(calendar: NseCalendar, now: float) -> tuple[int, int]:
    """(open, close) of the session in progress at `now`, or else the next one."""
    year = datetime.fromtimestamp(now, IST).year
    for y in (year, year + 1):
        opens, closes = calendar.sessions(y)
        later = closes > now
        if later.any():
            i = int(later.argmax())
            return int(opens[i]), int(closes[i])
    raise ValueError(f"no NSE session after {now}")  # sessions(year + 1) always has weekdays


def expiry_warning(expires_at: int | None, calendar: NseCalendar, now: float) -> str | None:
    """A warning when the token expires before the coming session closes; None when it lasts
    (or its expiry is unknown)."""
    if expires_at is None:
        return None
    _, close = coming_session(calendar, now)
    if expires_at >= close:
        return None
    expiry = datetime.fromtimestamp(expires_at, IST)
    ends = datetime.fromtimestamp(close, IST)
    what = "expired" if expires_at <= now else "expires"
    return (
        f"the Upstox access token {what} at {expiry:%Y-%m-%d %H:%M:%S} IST, before the session of "
        f"{ends:%Y-%m-%d} closes at {ends:%H:%M} IST: renew it (signaldesk upstox login)"
    )
