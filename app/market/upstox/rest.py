"""Upstox's REST calls: authorize a feed connection, today's 1m candles, historical candles.

- `GET {base}/v2/feed/portfolio-stream-feed/authorize?update_types=order%2Cposition` answers
  the portfolio stream's one-use address the same way (same wss:// rule).

- `GET {base}/v3/feed/market-data-feed/authorize` answers `data.authorized_redirect_uri`, a
  one-use WebSocket address. It must be `wss://`; plain `ws://` is accepted only when the base
  URL itself is loopback (the tests' fake Upstox, a local proxy).
- `GET {base}/v3/historical-candle/intraday/{key}/minutes/1` (the key URL-encoded, `|` as
  `%7C`) answers `data.candles`: rows `[ISO time with +05:30, open, high, low, close, volume,
  oi]`, newest first, each time the candle's start. Returned here oldest first.
- `GET {base}/v3/historical-candle/{key}/{unit}/{interval}/{to_date}/{from_date}` answers the
  same rows for the dates `from_date`..`to_date` (YYYY-MM-DD, both included); returned here as
  Upstox sent them, to be checked like a file (`app.market.upstox.history`).

A 401 is `TokenRejected`, a 429 `RateLimited` (with Retry-After), anything else `UpstoxError`
carrying the first message of Upstox's `errors` list.
"""

from __future__ import annotations

import math
from datetime import date, datetime
from typing import Any
from urllib.parse import quote, urlsplit

import httpx

from app.core.config import is_loopback
from app.market.upstox.errors import RateLimited, TokenRejected, UnsafeFeedAddress, UpstoxError
from app.market.upstox.minutes import Candle

AUTHORIZE_PATH = "/v3/feed/market-data-feed/authorize"
INTRADAY_PATH = "/v3/historical-candle/intraday/{key}/minutes/1"
PORTFOLIO_AUTHORIZE_PATH = "/v2/feed/portfolio-stream-feed/authorize?update_types=order%2Cposition"
HISTORY_PATH = "/v3/historical-candle/{key}/{unit}/{interval}/{to_date}/{from_date}"


def check_feed_address(address: str, base_url: str) -> str:
    """`address` when it is wss://, or ws:// with a loopback base URL; UnsafeFeedAddress otherwise."""
    scheme = urlsplit(address).scheme
    base_host = urlsplit(base_url).hostname or ""
    if scheme == "wss" or (scheme == "ws" and is_loopback(base_host)):
        return address
    raise UnsafeFeedAddress(address, base_url)


class UpstoxRest:
    """Authorize and intraday candles over one pooled HTTP client; `aclose` when done."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self._http = httpx.AsyncClient(base_url=self.base_url, timeout=timeout)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def authorize_feed(self, token: str) -> str:
        """A one-use feed address for `token`."""
        data = await self._get("feed authorize", AUTHORIZE_PATH, token)
        address = data.get("authorized_redirect_uri") if isinstance(data, dict) else None
        if not isinstance(address, str) or not address:
            raise UpstoxError("feed authorize", "the answer has no data.authorized_redirect_uri")
        return check_feed_address(address, self.base_url)

    async def authorize_portfolio(self, token: str) -> str:
        """A one-use portfolio stream address (order and position updates) for `token`."""
        data = await self._get("portfolio stream authorize", PORTFOLIO_AUTHORIZE_PATH, token)
        address = data.get("authorized_redirect_uri") if isinstance(data, dict) else None
        if not isinstance(address, str) or not address:
            raise UpstoxError("portfolio stream authorize", "the answer has no data.authorized_redirect_uri")
        return check_feed_address(address, self.base_url)

    async def intraday_candles(self, token: str, instrument_key: str) -> list[Candle]:
        """Today's 1-minute candles of `instrument_key`, oldest first."""
        what = f"intraday candles of {instrument_key}"
        data = await self._get(what, INTRADAY_PATH.format(key=quote(instrument_key, safe="")), token)
        rows = data.get("candles") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise UpstoxError(what, "the answer has no data.candles list")
        candles = [_candle(what, i, row) for i, row in enumerate(rows)]
        candles.sort(key=lambda c: c.open_ts)
        return candles

    async def historical_candles(
        self, token: str, instrument_key: str, unit: str, interval: int, from_date: date, to_date: date
    ) -> list[Any]:
        """The rows of `data.candles` for `from_date`..`to_date`, as Upstox sent them (newest first)."""
        what = f"historical candles of {instrument_key} ({unit}/{interval}, {from_date}..{to_date})"
        path = HISTORY_PATH.format(
            key=quote(instrument_key, safe=""),
            unit=unit,
            interval=interval,
            to_date=to_date.isoformat(),
            from_date=from_date.isoformat(),
        )
        data = await self._get(what, path, token)
        rows = data.get("candles") if isinstance(data, dict) else None
        if not isinstance(rows, list):
            raise UpstoxError(what, "the answer has no data.candles list")
        return rows

    async def _get(self, what: str, path: str, token: str) -> Any:
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        try:
            response = await self._http.get(path, headers=headers)
        except httpx.HTTPError as e:
            raise UpstoxError(what, f"{type(e).__name__}: {e}") from e
        if response.status_code == 401:
            raise TokenRejected(what, error_message(_json(response), response))
        if response.status_code == 429:
            raise RateLimited(what, error_message(_json(response), response), _retry_after(response))
        return json_answer(what, response).get("data")


def json_answer(what: str, response: httpx.Response, *, wrapped: bool = True) -> dict[str, Any]:
    """The answer's JSON object, or UpstoxError naming Upstox's error (or the HTTP status).
    :param wrapped: the answer must say `"status": "success"` (REST answers); False for the
    login token's, which has no status unless it is an error."""
    body = _json(response)
    if wrapped:
        ok = isinstance(body, dict) and body.get("status") == "success"
    else:
        ok = isinstance(body, dict) and body.get("status") != "error"
    if response.status_code != 200 or not ok:
        raise UpstoxError(what, error_message(body, response), status=response.status_code)
    return body


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def error_message(body: Any, response: httpx.Response) -> str:
    """The first of Upstox's `errors` as "message (errorCode)", or the HTTP reason."""
    errors = body.get("errors") if isinstance(body, dict) else None
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        code, message = errors[0].get("errorCode"), errors[0].get("message")
        if message:
            return f"{message} ({code})" if code else str(message)
    return response.reason_phrase or f"HTTP {response.status_code}"


def _retry_after(response: httpx.Response) -> float | None:
    try:
        seconds = float(response.headers.get("retry-after", ""))
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def _candle(what: str, i: int, row: Any) -> Candle:
    where = f"data.candles[{i}]"
    if not isinstance(row, list) or len(row) < 6:
        raise UpstoxError(what, f"{where} is not [time, open, high, low, close, volume, oi]")
    try:
        ts = datetime.fromisoformat(row[0])
    except (TypeError, ValueError) as e:
        raise UpstoxError(what, f"{where}[0] is not an ISO time: {row[0]!r}") from e
    if ts.tzinfo is None:
        raise UpstoxError(what, f"{where}[0] has no UTC offset: {row[0]!r}")
    numbers = row[1:6]
    if not all(isinstance(x, int | float) and not isinstance(x, bool) and math.isfinite(x) for x in numbers):
        raise UpstoxError(what, f"{where} has a price or volume that is not a finite number")
    o, h, l, c, v = (float(x) for x in numbers)
    if not (l <= min(o, c) and h >= max(o, c) and v >= 0):
        raise UpstoxError(what, f"{where} is not a valid candle (low <= open, close <= high; volume >= 0)")
    return Candle(int(ts.timestamp()), o, h, l, c, v)
