"""All configuration, read once from the environment (prefix SIGNALDESK_) and the CLI."""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from typing_extensions import Annotated, Self

TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9._~-]{16,256}$")
IST = timezone(timedelta(hours=5, minutes=30))


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """signaldesk's settings. Every field is `SIGNALDESK_<NAME>` in the environment."""

    model_config = SettingsConfigDict(env_prefix="SIGNALDESK_", extra="forbid", validate_default=True)

    host: str = Field("127.0.0.1", description="address to bind; anything but loopback needs api_token")
    port: int = Field(8000, ge=0, le=65535, description="TCP port (0: any free port)")
    data_dir: Path = Field(Path("data"), description="where the event log and databases live")
    database_url: str | None = Field(
        None,
        description="the relational store: sqlite+aiosqlite:///PATH or postgresql+asyncpg://USER@HOST:PORT/DB; "
        "default sqlite+aiosqlite:///<data_dir>/signaldesk.sqlite3",
    )
    db_auto_upgrade: bool = Field(
        True,
        description="apply pending schema migrations at start-up (under a lock on PostgreSQL); "
        "false: only check the schema is current, and leave upgrading to `signaldesk db upgrade`",
    )
    api_token: SecretStr | None = Field(
        None, description="bearer token for REST and WebSockets; 16-256 chars of A-Z a-z 0-9 . _ ~ -"
    )
    allowed_origins: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="extra browser origins allowed to open WebSockets, comma-separated (same origin is always allowed)",
    )
    heartbeat_interval: float = Field(15.0, gt=0, description="seconds of silence before a stream.heartbeat")
    ws_buffer_bytes: int = Field(
        4 * 1024 * 1024, ge=16 * 1024, description="a WebSocket client further behind than this is closed (4500)"
    )
    ws_stall_timeout: float = Field(
        30.0, gt=0, description="a client that takes no bytes for this long during a replay is closed (4500)"
    )
    ws_max_client_frame: int = Field(4096, ge=128, description="largest frame a client may send (1009 above it)")
    # What a request may be and do (docs/security.md): checked before routing, app/api/guards.py.
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="extra names the server answers to in the Host header, comma-separated (the bound address, "
        "localhost, 127.0.0.1 and ::1 always are); any other Host is refused (400), which ends DNS rebinding",
    )
    max_body_bytes: int = Field(
        1024 * 1024,
        ge=1024,
        description="largest request body on every route but the candle import (which takes 64 MiB); 413 above it",
    )
    max_event_bytes: int = Field(
        64 * 1024,
        ge=1024,
        le=512 * 1024,
        description="largest body of POST /api/events (one event), so that every event fits a client's 1 MiB "
        "frame; 413 above it",
    )
    ws_max_connections: int = Field(
        10_000, ge=1, description="open WebSocket streams per process; one more is closed 1013 (try again later)"
    )
    write_rate: float = Field(
        100.0,
        ge=0,
        description="write requests (POST, PUT, PATCH, DELETE) per second per bearer token (per client address "
        "without one), after a burst of write_burst; 429 with Retry-After above it; 0: no limit",
    )
    write_burst: int = Field(500, ge=1, description="write requests a token may make at once before write_rate applies")
    events_allow_engine_types: bool = Field(
        False,
        description="let POST /api/events publish the types the trading engine and the predictor own (hft.*, "
        "predictor.*); for test rigs that stand in for them; ignored when SIGNALDESK_LIVE_TRADING_ENABLED is on",
    )
    retention_max_events: int = Field(100_000, ge=1, description="events kept per channel")
    retention_max_age: float = Field(7 * 24 * 3600.0, gt=0, description="seconds an event is kept")
    retention_interval: float = Field(60.0, gt=0, description="seconds between retention passes")
    bus_url: str | None = Field(
        None, description="redis://host:port/db: the shared Redis Streams bus; unset: the embedded SQLite log"
    )
    bus_prefix: str = Field(
        "signaldesk", pattern=r"^[A-Za-z0-9_.:-]{1,64}$", description="Redis key prefix shared by one deployment"
    )
    leader_lease_ttl: float = Field(
        5.0, ge=1.0, le=120.0, description="seconds a cluster leader's lease lasts (takeover within 4/3 of it)"
    )
    leader_relay_timeout: float = Field(
        10.0, gt=0, le=120.0, description="seconds a follower waits for the leader to answer a relayed request"
    )
    bus_synchronous: Literal["full", "normal"] = Field(
        "full", description="SQLite fsync level: full survives power loss, normal survives a process crash"
    )
    market_source: Literal["simulated", "replay", "upstox", "off"] = Field(
        "simulated",
        description="where live bars come from: a simulated market, stored candles, Upstox's live feed, or none",
    )
    market_interval: Literal["1m", "3m", "5m", "10m", "15m", "30m", "1h", "1d"] = Field(
        "1m", description="bar interval"
    )
    market_speed: float = Field(
        60.0,
        gt=0,
        description="exchange seconds per wall second (60: a 1m bar per second); inf: replay without waiting",
    )
    market_seed: int | None = Field(None, ge=0, description="simulated market seed; unset: a fresh one, logged")
    market_anchor: float | None = Field(
        None,
        ge=0,
        description="wall-clock epoch seconds at which the simulated market stood at its start; processes given "
        "the same anchor, seed and start see the same market (serve --workers sets it); unset: this process's start",
    )
    market_universe: int = Field(5, ge=1, le=10_000, description="simulated instruments: the five real, then generated")
    market_edge_bps: float = Field(
        0.0,
        ge=0,
        le=100,
        description="simulated market: a planted, persistent drift (slow AR(1), this many basis points per bar) a "
        "model can learn; 0: the honest random walk, where predictions have no skill and the desk declines to trade",
    )
    market_instruments: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="instrument keys (or trading symbols, resolved with the instrument master at start) to replay or "
        "to stream from Upstox, comma-separated",
    )
    market_start: datetime | date | None = Field(
        None,
        description="simulated: a date's session open (or the latest before it), or an exact time; replay: first bar",
    )
    market_end: datetime | date | None = Field(None, description="replay: last bar (a date: up to that day's end)")
    predictor_autostart: bool = Field(
        False, description="start the predictor on the default universe when the server starts (make run does)"
    )
    jobs_training_concurrency: int = Field(1, ge=1, le=64, description="training jobs that run at once")
    jobs_automation_concurrency: int = Field(2, ge=1, le=64, description="automation runs that run at once")
    job_timeouts: Annotated[dict[str, float], NoDecode] = Field(
        default_factory=dict, description="per-kind timeouts in seconds, e.g. lgbm=600,backfill=300"
    )
    job_queue: Literal["local", "redis"] = Field(
        "local",
        description="where jobs run: local (in the server) or redis (on `signaldesk worker` processes, via arq)",
    )
    job_queue_url: str | None = Field(None, description="Redis of the job queue; default SIGNALDESK_BUS_URL")
    job_lease: float = Field(
        10.0, ge=0.5, le=3600, description="seconds a process holding jobs may go silent before they end failed"
    )
    automation_retrain_at_start: bool = Field(
        False, description="run a retrain automation for the default universe at start-up (make run does)"
    )
    automation_backfill_days: int = Field(
        20, ge=0, le=2000, description="sessions of simulated history the start-up retrain backfills first"
    )
    live_trading_enabled: bool = Field(
        False, description="key 1 of 2 of live trading (only here, never from a request); key 2 is a run's safe_mode"
    )
    hft_autostart: bool = Field(
        False, description="start the trading engine (paper, safe mode) at start-up (make run does)"
    )
    hft_capital: float = Field(1_000_000.0, gt=0, description="starting funds of the paper account, rupees")
    hft_risk_per_trade: float = Field(1_000.0, gt=0, description="rupees lost when a trade's initial stop is hit")
    hft_max_open_trades: int = Field(4, ge=1, le=10_000, description="open trades at once")
    hft_max_notional_per_trade: float = Field(300_000.0, gt=0, description="rupees of one entry")
    hft_max_notional_total: float = Field(1_000_000.0, gt=0, description="rupees of all open trades")
    hft_max_daily_loss: float = Field(10_000.0, gt=0, description="the day's PnL at or below -this halts and flattens")
    hft_broker_check_interval: float = Field(
        15.0,
        gt=0,
        le=3600,
        description="seconds between checks that the broker answers (hft.error when not, hft.broker on reconnect)",
    )
    hft_reconcile_interval: float = Field(
        60.0,
        ge=0,
        le=86_400,
        description="seconds between reconciliations of the broker's positions with the engine's trades "
        "during the day (0: at start-up and on request only)",
    )
    hft_broker_stops: bool = Field(
        False,
        description="hold each trade's stop at the broker as a stop-loss order (Upstox SL-M), moved as it "
        "trails and cancelled before any other exit, so a position keeps its protection while the server is "
        "down (docs/upstox-orders.md); live venue only, ignored on paper",
    )
    hft_max_orders_per_second: int = Field(10, ge=1, le=10, description="order rate (the exchange's algo threshold)")
    hft_cooldown: float = Field(
        300.0, ge=0, description="exchange seconds without entries on an instrument after a stop-out"
    )
    hft_square_off: time = Field(time(15, 15), description="IST time at which every trade is closed and entries stop")
    hft_min_calibration_n: int = Field(
        20, ge=0, description="resolutions a calibration needs before its predictions trade"
    )
    hft_min_hit_rate: float = Field(
        0.5, ge=0, le=1, description="the calibration's hit rate needed to trade (a floor under the skill gate)"
    )
    hft_skill_alpha: float = Field(
        0.05,
        gt=0,
        lt=1,
        description="skill gate: a pair's predictions trade only when a one-sided binomial test of its calibrated "
        "hits against chance (docs/predictor.md, Skill) has a p-value at or below this",
    )
    hft_skill_gate: bool = Field(
        True,
        description="skill gate on: only pairs whose record passes the skill test trade; off: the calibration floor "
        "(min_calibration_n, min_hit_rate) alone decides, as before the gate (the status shows skill either way)",
    )
    hft_skill_window: int = Field(
        500, ge=1, le=100_000, description="skill gate: resolutions in the rolling window the test looks at"
    )
    hft_skill_min_resolutions: int = Field(
        100, ge=1, le=100_000, description="skill gate: resolutions needed before the test runs (fewer: untested)"
    )
    hft_cost_multiple: float = Field(1.0, ge=0, description="|pred_ret_adj| must clear this x round-trip costs")
    hft_horizons: Annotated[list[int], NoDecode] = Field(
        default_factory=list, description="horizon_steps traded, comma-separated; empty: all"
    )
    hft_stop_vol: float = Field(1.5, gt=0, description="stop distance in sigma x sqrt(horizon)")
    hft_target_vol: float = Field(2.0, gt=0, description="target distance in sigma x sqrt(horizon)")
    hft_trail_vol: float = Field(1.0, ge=0, description="trailing distance, x the initial stop distance; 0: off")
    hft_vol_span: int = Field(20, ge=1, le=10_000, description="bars of the EWMA volatility")
    hft_allow_short: bool = Field(True, description="enter shorts on negative predictions (intraday)")
    hft_slippage_bps: float = Field(1.0, ge=0, le=1000, description="paper fills move this far against the order")
    hft_fill_ratio: float = Field(1.0, gt=0, le=1, description="share of each paper order that fills (partial fills)")
    hft_cost_brokerage_pct: float = Field(0.03, ge=0, description="brokerage, percent of turnover per order")
    hft_cost_brokerage_cap: float = Field(20.0, ge=0, description="brokerage cap, rupees per order")
    hft_cost_stt_sell_pct: float = Field(0.025, ge=0, description="STT, percent of sell turnover")
    hft_cost_exchange_pct: float = Field(0.00297, ge=0, description="exchange transaction charges, percent of turnover")
    hft_cost_sebi_per_crore: float = Field(10.0, ge=0, description="SEBI fees, rupees per crore of turnover")
    hft_cost_gst_pct: float = Field(18.0, ge=0, description="GST, percent of brokerage + exchange + SEBI charges")
    hft_cost_stamp_buy_pct: float = Field(0.003, ge=0, description="stamp duty, percent of buy turnover")
    upstox_base_url: str = Field(
        "https://api.upstox.com",
        description="Upstox API base URL (live broker, live feed); http:// only for a loopback address",
    )
    upstox_instruments_url: str = Field(
        "https://assets.upstox.com/market-quote/instruments/exchange/NSE.json.gz",
        description="Upstox's daily instrument file that `signaldesk instruments sync` downloads (NSE.json.gz, or "
        "complete.json.gz for every exchange); http:// only for a loopback address",
    )
    upstox_order_url: str = Field(
        "https://api-hft.upstox.com",
        description="Upstox's order host (place, modify, cancel on API v3); http:// only for a loopback address",
    )
    upstox_market_protection: float | None = Field(
        None,
        ge=0,
        le=100,
        description="market_protection (percent) sent with every live market order; unset: the field is not sent "
        "and Upstox's default applies",
    )
    upstox_access_token: SecretStr | None = Field(None, description="Upstox access token (live broker, live feed)")
    upstox_access_token_file: Path | None = Field(
        None,
        description="file holding the Upstox access token instead of SIGNALDESK_UPSTOX_ACCESS_TOKEN; the live feed "
        "reads it again before every connection, so a renewed token needs no restart",
    )
    upstox_client_id: str | None = Field(None, description="your Upstox app's API key (`signaldesk upstox login`)")
    upstox_client_secret: SecretStr | None = Field(
        None, description="your Upstox app's API secret (`signaldesk upstox login`)"
    )
    upstox_redirect_uri: str | None = Field(
        None, description="your Upstox app's redirect URL, exactly as registered (`signaldesk upstox login`)"
    )
    upstox_feed_mode: Literal["full", "ltpc"] = Field(
        "full",
        description="Market Data Feed V3 mode: full (bars from Upstox's closed 1-minute candles; at most 2,000 "
        "instruments) or ltpc (bars from the trades; at most 5,000)",
    )
    upstox_stall_timeout: float = Field(
        30.0, gt=0, le=3600, description="seconds without any frame from the feed, pings included, before reconnecting"
    )
    upstox_data_timeout: float = Field(
        60.0,
        gt=0,
        le=3600,
        description="seconds without market data while NSE_EQ is open (pings alone do not count) before reconnecting",
    )
    upstox_bar_grace: float = Field(
        2.0, ge=0, le=30, description="seconds past a minute's end on the feed's clock before its bar is handed on"
    )
    upstox_reconnect_min: float = Field(1.0, gt=0, le=60, description="first reconnect delay in seconds (doubling)")
    upstox_reconnect_max: float = Field(60.0, gt=0, le=3600, description="longest reconnect delay in seconds")
    upstox_history_rate: float = Field(
        1.0,
        gt=0,
        le=50,
        description="historical candle requests per second (candles fetch, backfill source upstox); 1 stays under "
        "Upstox's 50/s, 500/min and 2,000/30 min",
    )
    # Alerts (app/notify, docs/notifications.md).
    notify_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="where alerts go: notification URLs in apprise's format (tgram://, discord://, slack://, "
        "ntfy://, mailto://, json://...), comma-separated; none: no alerts",
    )
    notify_events: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["all"],
        description="the alert kinds sent, comma-separated: all, or some of entry, exit, halt, broker, feed, token, "
        "job_failed, model_promoted, daily_summary",
    )
    notify_batch_window: float = Field(
        3.0, gt=0, le=60, description="seconds entries and exits are gathered into one message"
    )
    notify_timeout: float = Field(10.0, gt=0, le=300, description="seconds one send to a notification URL may take")
    notify_retries: int = Field(5, ge=0, le=20, description="tries after a failed send, before the alert is given up")
    notify_backoff: float = Field(
        2.0, gt=0, le=300, description="seconds before the first retry; doubling, at most 300"
    )
    notify_summary_wait: float = Field(
        300.0, ge=0, le=3600, description="seconds the daily summary waits after the square-off for trades to close"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "console"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().lower() for part in value.split(",") if part.strip()]
        return value

    @field_validator("market_instruments", mode="before")
    @classmethod
    def _split_instruments(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("hft_horizons", mode="before")
    @classmethod
    def _split_horizons(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("notify_urls", "notify_events", mode="before")
    @classmethod
    def _split_notify(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("notify_urls")
    @classmethod
    def _notify_urls(cls, value: list[str]) -> list[str]:
        from app.notify.sender import check_urls

        return check_urls(value) if value else value

    @field_validator("notify_events")
    @classmethod
    def _notify_events(cls, value: list[str]) -> list[str]:
        from app.notify.kinds import parse_kinds

        return [kind.value for kind in parse_kinds(value)]

    @field_validator("job_timeouts", mode="before")
    @classmethod
    def _split_timeouts(cls, value: object) -> object:
        if isinstance(value, str):
            pairs = [part.strip().partition("=") for part in value.split(",") if part.strip()]
            if any(not sep for _, sep, _ in pairs):
                raise ValueError("expected kind=seconds pairs, comma-separated (e.g. lgbm=600,backfill=300)")
            return {k.strip(): v.strip() for k, _, v in pairs}
        return value

    @field_validator("market_start", "market_end", mode="before")
    @classmethod
    def _date_or_datetime(cls, value: object) -> object:
        if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value.strip()):
            return date.fromisoformat(value.strip())
        return value

    @field_validator("market_start", "market_end")
    @classmethod
    def _aware(cls, value: datetime | date | None) -> datetime | date | None:
        if isinstance(value, datetime) and value.tzinfo is None:
            raise ValueError("give a UTC offset (e.g. 2026-11-24T09:15:00+05:30) or a date (IST)")
        return value

    @model_validator(mode="after")
    def _market_consistent(self) -> Self:
        self._instruments_well_formed()
        if self.market_source == "replay" and not self.market_instruments:
            raise ValueError("SIGNALDESK_MARKET_SOURCE=replay needs SIGNALDESK_MARKET_INSTRUMENTS")
        if self.market_source == "upstox":
            self._upstox_feed_consistent()
        if self.market_source == "simulated" and self.market_speed == float("inf"):
            raise ValueError("SIGNALDESK_MARKET_SPEED=inf is for replay; a simulated market never ends")
        return self

    def _instruments_well_formed(self) -> None:
        """Keys are checked here; symbols (`RELIANCE`) are resolved when the server starts, with
        the instrument master (app.market.instrument_master.resolve)."""
        from app.market.errors import InvalidInstrumentKey
        from app.market.instruments import parse_instrument

        for text in self.market_instruments:
            try:
                parse_instrument(text)
            except InvalidInstrumentKey as e:
                raise ValueError(f"SIGNALDESK_MARKET_INSTRUMENTS: {e}") from e

    def _upstox_feed_consistent(self) -> None:
        from app.market.upstox.connection import SUBSCRIPTION_LIMITS

        keys = self.market_instruments
        if not keys:
            raise ValueError("SIGNALDESK_MARKET_SOURCE=upstox needs SIGNALDESK_MARKET_INSTRUMENTS (instrument keys)")
        if len(set(keys)) != len(keys):
            raise ValueError("SIGNALDESK_MARKET_INSTRUMENTS names an instrument twice")
        limit = SUBSCRIPTION_LIMITS[self.upstox_feed_mode]
        if len(keys) > limit:
            raise ValueError(
                f"SIGNALDESK_MARKET_INSTRUMENTS has {len(keys):,} keys; Upstox's {self.upstox_feed_mode} mode takes "
                f"at most {limit:,} per connection (SIGNALDESK_UPSTOX_FEED_MODE=ltpc takes 5,000)"
            )
        if self.market_interval != "1m":
            raise ValueError(
                f"SIGNALDESK_MARKET_INTERVAL={self.market_interval}: the Upstox source builds 1m bars only for now"
            )
        if (self.upstox_access_token is None) == (self.upstox_access_token_file is None):
            raise ValueError(
                "SIGNALDESK_MARKET_SOURCE=upstox needs SIGNALDESK_UPSTOX_ACCESS_TOKEN or "
                "SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE (exactly one)"
            )
        if self.upstox_reconnect_max < self.upstox_reconnect_min:
            raise ValueError("SIGNALDESK_UPSTOX_RECONNECT_MAX must be >= SIGNALDESK_UPSTOX_RECONNECT_MIN")

    @model_validator(mode="after")
    def _skill_window_holds_the_minimum(self) -> Self:
        if self.hft_skill_min_resolutions > self.hft_skill_window:
            raise ValueError(
                f"SIGNALDESK_HFT_SKILL_MIN_RESOLUTIONS ({self.hft_skill_min_resolutions}) must be <= "
                f"SIGNALDESK_HFT_SKILL_WINDOW ({self.hft_skill_window})"
            )
        return self

    @model_validator(mode="after")
    def _queue_needs_shared_bus(self) -> Self:
        if self.job_queue == "redis" and self.bus_url is None:
            raise ValueError(
                "SIGNALDESK_JOB_QUEUE=redis needs SIGNALDESK_BUS_URL (redis://...): workers publish job events "
                "on the shared bus, and the job queue uses the same Redis unless SIGNALDESK_JOB_QUEUE_URL is set"
            )
        return self

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str | None) -> str | None:
        from app.storage.urls import normalize_database_url

        return normalize_database_url(value.strip()) if value and value.strip() else None

    @field_validator("bus_url", "job_queue_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must be a redis://, rediss:// or unix:// URL")
        return value

    @field_validator("upstox_base_url", "upstox_order_url", "upstox_instruments_url")
    @classmethod
    def _upstox_url(cls, value: str) -> str:
        from urllib.parse import urlsplit

        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("must be an https:// URL such as https://api.upstox.com")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("plain http:// only for a loopback address (a local fake or proxy); use https://")
        return value.rstrip("/")

    @field_validator("upstox_redirect_uri")
    @classmethod
    def _redirect_uri(cls, value: str | None) -> str | None:
        from urllib.parse import urlsplit

        if value is None:
            return None
        parts = urlsplit(value.strip())
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError(
                "must be the http(s):// URL registered with your Upstox app, e.g. https://127.0.0.1/upstox"
            )
        return value.strip()

    @field_validator("api_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not TOKEN_PATTERN.match(value.get_secret_value()):
            raise ValueError("must be 16-256 characters of A-Z a-z 0-9 . _ ~ - (it travels in a WebSocket subprotocol)")
        return value

    @model_validator(mode="after")
    def _exposed_needs_token(self) -> Self:
        if not is_loopback(self.host) and self.api_token is None:
            raise ValueError(
                f"refusing to bind {self.host}: anything but loopback needs SIGNALDESK_API_TOKEN "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(32))'`)"
            )
        return self

    @property
    def db_url(self) -> str:
        return self.database_url or f"sqlite+aiosqlite:///{self.data_dir / 'signaldesk.sqlite3'}"

    @property
    def queue_url(self) -> str | None:
        """The job queue's Redis with SIGNALDESK_JOB_QUEUE=redis, else None."""
        return (self.job_queue_url or self.bus_url) if self.job_queue == "redis" else None

    @property
    def event_log_path(self) -> Path:
        return self.data_dir / "events.sqlite3"

    @property
    def market_start_ts(self) -> int | None:
        return _epoch(self.market_start, end_of_day=False)

    @property
    def market_end_ts(self) -> int | None:
        return _epoch(self.market_end, end_of_day=True)

    @property
    def token(self) -> str | None:
        return self.api_token.get_secret_value() if self.api_token is not None else None


def _epoch(value: datetime | date | None, *, end_of_day: bool) -> int | None:
    """Epoch seconds of an aware datetime, or of an IST date's start (or last second)."""
    if value is None:
        return None
    if isinstance(value, datetime):
        return int(value.timestamp())
    midnight = int(datetime(value.year, value.month, value.day, tzinfo=IST).timestamp())
    return midnight + 86399 if end_of_day else midnight
