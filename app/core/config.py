"""All configuration, read once from the environment (prefix SIGNALDESK_) and the CLI."""

from __future__ import annotations

import ipaddress
import re
from datetime import date, datetime, timedelta, timezone
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
        description="SQLAlchemy async URL; default sqlite+aiosqlite:///<data_dir>/signaldesk.sqlite3",
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
    retention_max_events: int = Field(100_000, ge=1, description="events kept per channel")
    retention_max_age: float = Field(7 * 24 * 3600.0, gt=0, description="seconds an event is kept")
    retention_interval: float = Field(60.0, gt=0, description="seconds between retention passes")
    bus_synchronous: Literal["full", "normal"] = Field(
        "full", description="SQLite fsync level: full survives power loss, normal survives a process crash"
    )
    market_source: Literal["simulated", "replay", "off"] = Field(
        "simulated", description="where live bars come from: a simulated market, stored candles, or none"
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
    market_universe: int = Field(5, ge=1, le=10_000, description="simulated instruments: the five real, then generated")
    market_instruments: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="instrument keys to replay, comma-separated"
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
    automation_retrain_at_start: bool = Field(
        False, description="run a retrain automation for the default universe at start-up (make run does)"
    )
    automation_backfill_days: int = Field(
        20, ge=0, le=2000, description="sessions of simulated history the start-up retrain backfills first"
    )
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["json", "console"] = "console"

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip().rstrip("/") for part in value.split(",") if part.strip()]
        return value

    @field_validator("market_instruments", mode="before")
    @classmethod
    def _split_instruments(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

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
        if self.market_source == "replay" and not self.market_instruments:
            raise ValueError("SIGNALDESK_MARKET_SOURCE=replay needs SIGNALDESK_MARKET_INSTRUMENTS")
        if self.market_source == "simulated" and self.market_speed == float("inf"):
            raise ValueError("SIGNALDESK_MARKET_SPEED=inf is for replay; a simulated market never ends")
        return self

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
