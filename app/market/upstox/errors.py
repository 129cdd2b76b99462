"""Errors of the Upstox client; each says what failed and, where one is to blame, which setting."""

from __future__ import annotations

from app.market.errors import MarketDataError


class UpstoxError(MarketDataError):
    """An Upstox call that failed: `status` is the HTTP status (0 when none came back)."""

    def __init__(self, what: str, message: str, *, status: int = 0) -> None:
        self.what = what
        self.status = status
        self.message = message
        super().__init__(f"{what}: {message}" + (f" (HTTP {status})" if status else ""))


class TokenRejected(UpstoxError):
    """Upstox answered 401: the access token expired (they do at 03:30 IST) or is not valid."""

    def __init__(self, what: str, message: str) -> None:
        super().__init__(what, f"token expired or invalid: {message}", status=401)


class RateLimited(UpstoxError):
    """Upstox answered 429; `retry_after` is its Retry-After in seconds, when it gave one."""

    def __init__(self, what: str, message: str, retry_after: float | None) -> None:
        self.retry_after = retry_after
        super().__init__(what, message, status=429)


class TokenUnavailable(MarketDataError):
    """The access token cannot be read; `variable` is the setting that points at it."""

    def __init__(self, variable: str, problem: str) -> None:
        self.variable = variable
        self.problem = problem
        super().__init__(f"{variable}: {problem}")


class UnsafeFeedAddress(MarketDataError):
    """Authorize answered an address we refuse: plain ws:// is for a loopback base URL only."""

    def __init__(self, address: str, base_url: str) -> None:
        self.address = address
        super().__init__(
            f"authorize answered {address.split('?')[0]!r}: a wss:// address is required "
            f"(ws:// only when SIGNALDESK_UPSTOX_BASE_URL is loopback, not {base_url!r})"
        )


class FeedStalled(MarketDataError):
    """The watchdog gave up on a feed connection; `reason` says which silence it saw."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(f"feed stalled: {reason}")


class UpstoxSdkMissing(MarketDataError):
    def __init__(self, detail: str) -> None:
        super().__init__(
            f"Upstox's protobuf classes are not installed ({detail}): "
            "`pip install --no-deps upstox-python-sdk==2.30.0` (make does it; see docs/upstox.md)"
        )


class HistoryFetchFailed(MarketDataError):
    """One span of a historical fetch failed; nothing of it is stored, the spans before it are.

    `cause` is the UpstoxError, TokenRejected or CandleImportError (its `problems` name the rows).
    """

    def __init__(self, instrument_key: str, interval: str, span: str, cause: Exception, *, stored: int) -> None:
        self.instrument_key = instrument_key
        self.interval = interval
        self.span = span
        self.cause = cause
        self.stored = stored
        super().__init__(
            f"{instrument_key} {interval} {span}: {cause}; nothing of this span was stored "
            f"({stored} span{'s' if stored != 1 else ''} stored before it kept)"
        )
