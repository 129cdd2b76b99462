"""A fake Upstox on loopback: the authorize, intraday-candle and historical-candle REST calls and
the Market Data Feed V3 WebSocket, on one port, speaking Upstox's bytes (JSON bodies; protobuf `FeedResponse`
frames built with the same generated classes the client decodes with).

It records what the client does (authorize calls and their tokens, candle requests, every
request frame and whether it was binary) and has scriptable faults: `drop()` (abort the TCP
connection), a silent stall (send nothing: only the pings that go out every `ping_interval`),
401 for a token it does not know, `fail_authorize` (500s), `rate_limit_candles` (429s); for
the historical candles `rate_limit_history` (429s with `retry_after`), `history_error` (an
Upstox error body) and `history_fail_after` (every request after the first n fails with
`history_fail_status`: an interrupted fetch).

A second port, `rest_url`, answers every REST call, GET and POST, as api.upstox.com does (the
websockets server answers GETs only): a real server's SIGNALDESK_UPSTOX_BASE_URL points there.
The login token exchange (`POST /v2/login/authorization/token`) is served on it,
`login_url`: a code in `login_codes` gets its token
once, given the app's `client_id`, `client_secret` and `redirect_uri`; `token_requests` keeps
every form posted. The account calls of reconciliation and the kill switch are served there
too (`account`, a `fake_account.Account`; `account_url`).
It also serves the daily instrument file (`instruments`, public: no token) at INSTRUMENTS.

Orders (`fake_orders.OrderDesk`, scripted per place): the order host's `POST /v3/order/place`,
`PUT /v3/order/modify` and `DELETE /v3/order/cancel` on that second port too (`order_url`);
`GET /v2/order/details`, `/v2/user/profile`, `/v2/portfolio/short-term-positions` and
`/v2/user/get-funds-and-margin` on the main one; the portfolio stream (`GET
/v2/feed/portfolio-stream-feed/authorize`, a one-use `ws://.../portfolio` address) carries every
order update as JSON text. `broker_requests` records every request of the broker (orders,
details, profile, positions, funds, portfolio authorize): the recorder the two-key gate is
proven against. Faults: `drop_portfolio()`, `refuse_portfolio` (authorize answers 500s).

Time is the tests' to drive: frames carry whatever `currentTs` the test gives them.
Tests wait on `wait_for(predicate)`, woken by every event, never on sleeps.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import uuid
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from app.market.calendar import IST
from app.market.upstox.proto import feed_v3
from tests.market.upstox.fake_account import ACCOUNT_PATHS, Account
from tests.market.upstox.fake_orders import OrderDesk

AUTHORIZE = "/v3/feed/market-data-feed/authorize"
INTRADAY = "/v3/historical-candle/intraday/"
HISTORY = "/v3/historical-candle/"
INSTRUMENTS = "/market-quote/instruments/exchange/NSE.json.gz"  # the path on assets.upstox.com
FEED = "/feed"
LOGIN_TOKEN = "/v2/login/authorization/token"
PORTFOLIO_AUTHORIZE = "/v2/feed/portfolio-stream-feed/authorize"
PORTFOLIO = "/portfolio"
ORDER_PATHS = ("/v3/order/place", "/v3/order/modify", "/v3/order/cancel")
BROKER_GETS = (*ACCOUNT_PATHS, PORTFOLIO_AUTHORIZE)  # GETs of the live broker on the API host

CandleRow = tuple[int, float, float, float, float, int]  # open ts (epoch s), o, h, l, c, volume


def _error(code: str, message: str) -> str:
    return json.dumps({"status": "error", "errors": [{"errorCode": code, "message": message}]})


def _ist_date(ts: int) -> str:
    return datetime.fromtimestamp(ts, IST).date().isoformat()


# --- frames -------------------------------------------------------------------------------


def ltpc_frame(now_ms: int, trades: dict[str, tuple[float, int, int]], *, initial: bool = False) -> bytes:
    """A feed of last trades: key -> (ltp, ltt epoch ms, ltq)."""
    pb = feed_v3()
    response = pb.FeedResponse(type=pb.initial_feed if initial else pb.live_feed, currentTs=now_ms)
    for key, (ltp, ltt, ltq) in trades.items():
        response.feeds[key].ltpc.CopyFrom(pb.LTPC(ltp=ltp, ltt=ltt, ltq=ltq, cp=ltp))
    return response.SerializeToString()


def full_frame(now_ms: int, candles: dict[str, list[CandleRow]]) -> bytes:
    """A full feed: key -> its I1 candles (previous and current), with a 1d and an I30 candle beside them."""
    pb = feed_v3()
    response = pb.FeedResponse(type=pb.live_feed, currentTs=now_ms)
    for key, rows in candles.items():
        market = response.feeds[key].fullFeed.marketFF
        market.ltpc.CopyFrom(pb.LTPC(ltp=rows[-1][4], ltt=now_ms, ltq=1, cp=rows[-1][4]))
        market.marketOHLC.ohlc.add(interval="1d", open=1.0, high=9999.0, low=0.5, close=rows[-1][4], vol=10**7, ts=0)
        for ts, o, h, l, c, v in rows:
            market.marketOHLC.ohlc.add(interval="I1", open=o, high=h, low=l, close=c, vol=v, ts=ts * 1000)
        market.marketOHLC.ohlc.add(interval="I30", open=1.0, high=9999.0, low=0.5, close=1.0, vol=10**6, ts=0)
        market.vtt = 10**6
    return response.SerializeToString()


def market_info_frame(now_ms: int, nse_eq: str = "NORMAL_OPEN") -> bytes:
    pb = feed_v3()
    response = pb.FeedResponse(type=pb.market_info, currentTs=now_ms)
    response.marketInfo.segmentStatus["NSE_EQ"] = pb.MarketStatus.Value(nse_eq)
    response.marketInfo.segmentStatus["NSE_FO"] = pb.MarketStatus.Value(nse_eq)
    return response.SerializeToString()


# --- the server ---------------------------------------------------------------------------


class _PlainHttp:
    """`ServerConnection.respond` for the plain HTTP port: the feed port's answers, as objects."""

    @staticmethod
    def respond(status: int, text: str) -> Response:
        body = text.encode()
        headers = Headers([("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
        return Response(status, HTTPStatus(status).phrase, headers, body)


def _http_bytes(status: int, headers: Headers, body: bytes) -> bytes:
    """One HTTP/1.1 answer, the connection closed after it."""
    lines = [f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"]
    lines += [f"{k}: {v}" for k, v in headers.raw_items() if k.lower() not in ("content-length", "connection")]
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class FakeUpstox:
    def __init__(self, *, tokens: Iterable[str] = ("good-token",), ping_interval: float = 0.05) -> None:
        self.tokens = set(tokens)
        self.ping_interval = ping_interval
        self.authorize_tokens: list[str] = []  # every authorize call's token, accepted or not
        self.candle_requests: list[str] = []  # instrument keys, URL-decoded
        self.requests: list[dict[str, Any]] = []  # the client's request frames, decoded
        self.binary: list[bool] = []  # per request frame: sent as a binary frame
        self.candles: dict[str, list[CandleRow]] = {}  # today's 1m candles per key, any order
        self.fail_authorize = 0  # answer this many authorize calls with a 500
        self.rate_limit_candles = 0  # answer this many candle requests with a 429
        self.history: dict[tuple[str, str], list[CandleRow]] = {}  # (key, "minutes/1") -> candles, any order
        self.history_requests: list[tuple[str, str, str, str]] = []  # (key, "minutes/1", from_date, to_date)
        self.rate_limit_history = 0  # answer this many historical requests with a 429
        self.retry_after = "0"  # the 429s' Retry-After
        self.history_error: tuple[int, str, str] | None = None  # (status, errorCode, message) for every request
        self.history_fail_after: int | None = None  # requests after the first n fail
        self.history_fail_status = 500
        self.instruments: bytes | None = None  # the instrument file served at INSTRUMENTS (None: 404)
        self.instrument_downloads = 0
        self.connections: list[ServerConnection] = []
        self.pings_sent = 0
        self.app = {"client_id": "app-key", "client_secret": "app-secret", "redirect_uri": "https://127.0.0.1/upstox"}
        self.login_codes: dict[str, str] = {}  # one-use authorization code -> the access token it buys
        self.token_requests: list[dict[str, str]] = []  # every form posted to the token endpoint
        self.desk = OrderDesk(self._publish)
        self.account = Account(self.tokens, self._notify, self.desk)
        self.broker_requests: list[tuple[str, str, dict[str, Any] | None]] = []  # (method, path, body or query)
        self.portfolio_connections: list[ServerConnection] = []
        self.portfolio_tokens: list[str] = []  # every portfolio authorize call's token
        self.refuse_portfolio = False  # portfolio authorize answers 500 while set
        self.unavailable = False  # every broker call (orders, account, the stream's authorize) answers 503 while set
        self._portfolio_outboxes: dict[ServerConnection, asyncio.Queue[str]] = {}  # per open stream, in order
        self._login: asyncio.Server | None = None
        self._codes: set[str] = set()
        self._changed = asyncio.Event()
        self._server: Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def order_url(self) -> str:
        """The order host (SIGNALDESK_UPSTOX_ORDER_URL)."""
        return self.login_url

    @property
    def login_url(self) -> str:
        assert self._login is not None
        host, port = self._login.sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def rest_url(self) -> str:
        """Every REST call, GET and POST (the feed port answers GETs only): a real server's
        SIGNALDESK_UPSTOX_BASE_URL, as api.upstox.com serves them all."""
        return self.login_url

    @property
    def account_url(self) -> str:
        """Where the account calls go (the login port: it reads request bodies)."""
        return self.login_url

    async def start(self) -> FakeUpstox:
        self._server = await serve(self._feed, "127.0.0.1", 0, process_request=self._http, ping_interval=None)
        self._login = await asyncio.start_server(self._login_http, "127.0.0.1", 0)
        return self

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        if self._login is not None:
            self._login.close()
            await self._login.wait_closed()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        async def until() -> None:
            while not predicate():
                changed = self._changed
                await changed.wait()

        await asyncio.wait_for(until(), timeout)

    def _notify(self) -> None:
        changed, self._changed = self._changed, asyncio.Event()
        changed.set()

    # --- scripting ------------------------------------------------------------------------

    async def send(self, frame: bytes) -> None:
        """One binary frame on the newest connection."""
        await self.connections[-1].send(frame)

    def drop(self) -> None:
        """Abort the newest connection's TCP connection (no close frame)."""
        transport = self.connections[-1].transport
        transport.abort()

    def drop_portfolio(self) -> None:
        """Abort every portfolio stream connection."""
        for ws in self.portfolio_connections:
            ws.transport.abort()

    @property
    def portfolio_open(self) -> int:
        """Portfolio stream connections open now."""
        return sum(1 for ws in self.portfolio_connections if ws.state.name == "OPEN")

    @property
    def placed(self) -> list[dict[str, Any]]:
        """The bodies of every order place request."""
        return self.desk.places

    def _publish(self, update: dict[str, Any]) -> None:
        for outbox in self._portfolio_outboxes.values():
            outbox.put_nowait(json.dumps(update))
        self._notify()

    def intraday_rows(self, key: str) -> list[list[Any]]:
        rows = sorted(self.candles.get(key, []), reverse=True)  # newest first, as Upstox answers
        return [[datetime.fromtimestamp(ts, IST).isoformat(), o, h, l, c, v, 0] for ts, o, h, l, c, v in rows]

    def history_rows(self, key: str, unit: str, first: str, last: str) -> list[list[Any]]:
        """The stored candles whose IST date is within first..last, newest first with +05:30 times."""
        rows = [r for r in self.history.get((key, unit), []) if first <= _ist_date(r[0]) <= last]
        rows.sort(reverse=True)
        return [[datetime.fromtimestamp(ts, IST).isoformat(), o, h, l, c, v, 0] for ts, o, h, l, c, v in rows]

    # --- HTTP -----------------------------------------------------------------------------

    def _http(self, connection: ServerConnection | type[_PlainHttp], request: Request) -> Response | None:
        parts = urlsplit(request.path)
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if parts.path in (FEED, PORTFOLIO):
            code = parse_qs(parts.query).get("code", [""])[0]
            if code not in self._codes:
                return connection.respond(401, "unknown or used code")
            self._codes.discard(code)
            return None  # go on with the WebSocket handshake
        if parts.path in BROKER_GETS:
            return self._broker_get(connection, request, token)
        if parts.path == AUTHORIZE:
            self.authorize_tokens.append(token)
            self._notify()
            if self.fail_authorize > 0:
                self.fail_authorize -= 1
                return self._json(connection, 500, _error("UDAPI100500", "Something went wrong"))
            if token not in self.tokens:
                return self._json(connection, 401, _error("UDAPI100050", "Invalid token used to access API"))
            code = uuid.uuid4().hex
            self._codes.add(code)
            address = f"ws://{self.url.removeprefix('http://')}{FEED}?requestId={uuid.uuid4()}&code={code}"
            data = {"authorized_redirect_uri": address, "authorizedRedirectUri": address}
            return self._json(connection, 200, json.dumps({"status": "success", "data": data}))
        if parts.path.startswith(INTRADAY) and parts.path.endswith("/minutes/1"):
            key = unquote(parts.path.removeprefix(INTRADAY).removesuffix("/minutes/1"))
            self.candle_requests.append(key)
            self._notify()
            if token not in self.tokens:
                return self._json(connection, 401, _error("UDAPI100050", "Invalid token used to access API"))
            if self.rate_limit_candles > 0:
                self.rate_limit_candles -= 1
                response = self._json(connection, 429, _error("UDAPI10005", "Too Many Request Sent"))
                response.headers["Retry-After"] = "0"
                return response
            body = {"status": "success", "data": {"candles": self.intraday_rows(key)}}
            return self._json(connection, 200, json.dumps(body))
        if parts.path.startswith(HISTORY) and parts.path.count("/") == 7:
            return self._history(connection, parts.path, token)
        if parts.path == INSTRUMENTS:
            self.instrument_downloads += 1
            self._notify()
            if self.instruments is None:
                return connection.respond(404, "Not Found")
            response = connection.respond(200, "")
            response.body = self.instruments
            del response.headers["Content-Length"]
            response.headers["Content-Length"] = str(len(self.instruments))
            del response.headers["Content-Type"]
            response.headers["Content-Type"] = "application/gzip"  # as the asset server sends it: no Content-Encoding
            return response
        return self._json(connection, 404, _error("UDAPI100060", "Resource not Found."))

    def _broker_get(self, connection: ServerConnection | type[_PlainHttp], request: Request, token: str) -> Response:
        """The portfolio stream's authorize, and the account's GETs (`fake_account.Account`)."""
        parts = urlsplit(request.path)
        path, query = parts.path, parse_qs(parts.query)
        self.broker_requests.append(("GET", path, {k: v[0] for k, v in query.items()} or None))
        self._notify()
        if self.unavailable:
            return self._json(connection, 503, _error("UDAPI100503", "Service Unavailable"))
        if token not in self.tokens:
            return self._json(connection, 401, _error("UDAPI100050", "Invalid token used to access API"))
        if path == PORTFOLIO_AUTHORIZE:
            self.portfolio_tokens.append(token)
            if self.refuse_portfolio:
                return self._json(connection, 500, _error("UDAPI100500", "Something went wrong"))
            code = uuid.uuid4().hex
            self._codes.add(code)
            address = f"ws://{self.url.removeprefix('http://')}{PORTFOLIO}?requestId={uuid.uuid4()}&code={code}"
            data = {"authorized_redirect_uri": address, "authorizedRedirectUri": address}
            return self._json(connection, 200, json.dumps({"status": "success", "data": data}))
        headers = {"authorization": request.headers.get("Authorization", "")}
        return self._json(connection, *self.account.answer("GET", request.path, headers, ""))

    def _history(self, connection: ServerConnection | type[_PlainHttp], path: str, token: str) -> Response:
        """`/v3/historical-candle/{key}/{unit}/{interval}/{to_date}/{from_date}`."""
        quoted, unit, interval, to_date, from_date = path.removeprefix(HISTORY).split("/")
        key = unquote(quoted)
        self.history_requests.append((key, f"{unit}/{interval}", from_date, to_date))
        self._notify()
        if token not in self.tokens:
            return self._json(connection, 401, _error("UDAPI100050", "Invalid token used to access API"))
        if self.history_fail_after is not None and len(self.history_requests) > self.history_fail_after:
            status = self.history_fail_status
            if status == 401:
                return self._json(connection, 401, _error("UDAPI100050", "Invalid token used to access API"))
            return self._json(connection, status, _error("UDAPI100500", "Something went wrong"))
        if self.rate_limit_history > 0:
            self.rate_limit_history -= 1
            response = self._json(connection, 429, _error("UDAPI10005", "Too Many Request Sent"))
            response.headers["Retry-After"] = self.retry_after
            return response
        if self.history_error is not None:
            status, code, message = self.history_error
            return self._json(connection, status, _error(code, message))
        body = {
            "status": "success",
            "data": {"candles": self.history_rows(key, f"{unit}/{interval}", from_date, to_date)},
        }
        return self._json(connection, 200, json.dumps(body))

    @staticmethod
    def _json(connection: ServerConnection | type[_PlainHttp], status: int, body: str) -> Response:
        response = connection.respond(status, body)
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json"
        return response

    # --- the login token exchange (plain HTTP/1.1, one request per connection) -------------

    async def _login_http(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            method, target = head[0].split(" ")[:2]
            headers = {k.strip().lower(): v.strip() for k, v in (h.split(":", 1) for h in head[1:] if ":" in h)}
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            later: list[dict[str, Any]] = []
            path = urlsplit(target).path
            if self.unavailable and path in (*ORDER_PATHS, *ACCOUNT_PATHS):
                self.broker_requests.append((method, path, None))
                status, answer = 503, _error("UDAPI100503", "Service Unavailable")
            elif path in ORDER_PATHS:
                status, answer, later = self._order_answer(method, target, headers, body.decode())
            elif path in ACCOUNT_PATHS and method != "GET":
                self.broker_requests.append((method, path, None))
                status, answer = self.account.answer(method, target, headers, body.decode())
            elif method == "GET":  # what the feed port answers: one API host, as at Upstox
                request = Request(target, Headers((k, v) for k, v in headers.items()))
                response = self._http(_PlainHttp, request)
                assert response is not None, f"{path} is a WebSocket: on the feed port only"
                writer.write(_http_bytes(response.status_code, response.headers, response.body))
                await writer.drain()
                return
            else:
                status, answer = self._token_answer(method, target, headers, body.decode())
            data = answer.encode()
            writer.write(_http_bytes(status, Headers([("Content-Type", "application/json")]), data))
            await writer.drain()
            for update in later:  # the exchange acts after the place is answered
                self.desk.publish(update)
        finally:
            writer.close()

    def _order_answer(
        self, method: str, target: str, headers: dict[str, str], body: str
    ) -> tuple[int, str, list[dict[str, Any]]]:
        parts = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(parts.query).items()}
        payload = json.loads(body) if body else None
        self.broker_requests.append((method, parts.path, payload if payload is not None else (query or None)))
        self._notify()
        if headers.get("authorization", "").removeprefix("Bearer ") not in self.tokens:
            return 401, _error("UDAPI100050", "Invalid token used to access API"), []
        if (method, parts.path) == ("POST", "/v3/order/place") and isinstance(payload, dict):
            return self.desk.place(payload)
        if (method, parts.path) == ("PUT", "/v3/order/modify") and isinstance(payload, dict):
            return (*self.desk.modify(payload), [])
        if (method, parts.path) == ("DELETE", "/v3/order/cancel"):
            return self.desk.cancel(query.get("order_id", ""))
        return 405, _error("UDAPI100060", f"{method} {parts.path} is not served"), []

    def _token_answer(self, method: str, target: str, headers: dict[str, str], body: str) -> tuple[int, str]:
        if method != "POST" or urlsplit(target).path != LOGIN_TOKEN:
            return 404, _error("UDAPI100060", "Resource not Found.")
        form = {k: v[0] for k, v in parse_qs(body).items()}
        self.token_requests.append(
            {**form, "accept": headers.get("accept", ""), "type": headers.get("content-type", "")}
        )
        self._notify()
        if form.get("grant_type") != "authorization_code":
            return 400, _error("UDAPI100069", "Check your 'grant_type'")
        if any(form.get(k) != v for k, v in self.app.items()):
            return 401, _error("UDAPI100016", "Invalid Credentials")
        token = self.login_codes.pop(form.get("code", ""), None)
        if token is None:
            return 400, _error("UDAPI100057", "Invalid Auth code")
        return 200, json.dumps({"email": "trader@example.com", "user_id": "AB1234", "access_token": token})

    # --- the feed -------------------------------------------------------------------------

    async def _feed(self, ws: ServerConnection) -> None:
        if ws.request is not None and urlsplit(ws.request.path).path == PORTFOLIO:
            await self._portfolio(ws)
            return
        self.connections.append(ws)
        self._notify()
        pinger = asyncio.create_task(self._ping(ws))
        self._tasks.add(pinger)
        try:
            async for message in ws:
                self.binary.append(isinstance(message, bytes))
                self.requests.append(json.loads(message))
                self._notify()
        except ConnectionClosed:
            pass  # dropped
        finally:
            pinger.cancel()
            self._tasks.discard(pinger)
            self._notify()

    async def _portfolio(self, ws: ServerConnection) -> None:
        """The portfolio stream: the server only talks (order updates, pings); we wait for its end."""
        self.portfolio_connections.append(ws)
        outbox: asyncio.Queue[str] = asyncio.Queue()
        self._portfolio_outboxes[ws] = outbox
        self._notify()
        pinger = asyncio.create_task(self._ping(ws))
        self._tasks.add(pinger)
        closed = asyncio.ensure_future(ws.wait_closed())
        try:
            while True:
                message = asyncio.ensure_future(outbox.get())
                await asyncio.wait({message, closed}, return_when=asyncio.FIRST_COMPLETED)
                if not message.done():
                    message.cancel()
                    break
                await ws.send(message.result())
        except ConnectionClosed:
            pass  # dropped
        finally:
            closed.cancel()
            del self._portfolio_outboxes[ws]
            pinger.cancel()
            self._tasks.discard(pinger)
            self._notify()

    async def _ping(self, ws: ServerConnection) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(self.ping_interval)
                await ws.ping()
                self.pings_sent += 1
                self._notify()


@contextlib.contextmanager
def fake_in_thread(**options: Any) -> Iterator[FakeUpstox]:
    """A FakeUpstox on an event loop of its own thread, for tests that block on a server process
    (synchronous HTTP) while that server calls the fake. Read its records once the test's own
    synchronisation (a server's answer or event) says the calls were made."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fake-upstox", daemon=True)
    thread.start()
    fake = asyncio.run_coroutine_threadsafe(FakeUpstox(**options).start(), loop).result(10)
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(10)
        loop.close()
