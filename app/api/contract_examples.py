"""Example payloads, one or more per (channel, type) of the contract and per control frame.

Hand-written data only: `app.api.contract_schema` validates each through its Pydantic model
and writes the envelopes to contracts/fixtures/valid/. Values are realistic for the desk
(NSE instruments, one-minute bars, rupees) and fixed, so the fixtures are deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.events import EPHEMERAL, JsonObject

INSTRUMENT = "NSE_EQ|INE848E01016"
JOB = "job-20250214-0007"


@dataclass(frozen=True, slots=True)
class Example:
    """One example payload of `type` on `channel`; `variant` tells apart several of one type."""

    channel: str
    type: str
    payload: JsonObject
    note: str
    variant: str = ""


_CALIBRATION: JsonObject = {"n": 240, "bias": -0.00011, "mae": 0.00093, "rmse": 0.00131, "hit_rate": 0.54}

EVENT_EXAMPLES: tuple[Example, ...] = (
    # --- prediction
    Example(
        "prediction",
        "predictor.start",
        {"instruments": [INSTRUMENT, "NSE_EQ|INE002A01018"], "cfg": {"interval": "1m", "horizon_steps": 5}},
        "the predictor started on two instruments",
    ),
    Example("prediction", "predictor.stop", {}, "the predictor stopped; the payload is empty"),
    Example("prediction", "predictor.error", {"error": "feed timeout after 30 s"}, "the predictor failed"),
    Example(
        "prediction",
        "prediction.created",
        {
            "id": 90211,
            "instrument_key": INSTRUMENT,
            "interval": "1m",
            "horizon_steps": 5,
            "ts_pred": 1739569980,
            "ts_target": 1739570280,
            "pred_ret": 0.00042,
            "pred_ret_adj": 0.00031,
            "calib_bias": -0.00011,
            "model_kind": "ridge",
        },
        "a new prediction",
    ),
    Example(
        "prediction",
        "prediction.resolved",
        {
            "id": 90211,
            "instrument_key": INSTRUMENT,
            "interval": "1m",
            "horizon_steps": 5,
            "ts_pred": 1739569980,
            "ts_target": 1739570280,
            "actual_ret": -0.0002,
            "pred_ret_adj": 0.00031,
            "error": -0.00051,
            "calibration": _CALIBRATION,
        },
        "a prediction resolved; calibration has exactly the five required fields",
    ),
    Example(
        "prediction",
        "prediction.resolved",
        {
            "id": 90212,
            "instrument_key": INSTRUMENT,
            "interval": "1m",
            "horizon_steps": 1,
            "ts_pred": 1739570040,
            "ts_target": 1739570100,
            "actual_ret": 0.0,
            "pred_ret_adj": 0.0001,
            "error": 0.0001,
            "calibration": {**_CALIBRATION, "n": 241, "window": "7d", "brier": 0.241},
        },
        "calibration carries more fields than the five required ones ('more may follow')",
        variant="calibration-extra",
    ),
    Example(
        "prediction",
        "predictor.cycle",
        {"created": 12, "resolved": 11, "anchor": 1739570040},
        "one predictor cycle",
    ),
    # --- automation
    Example(
        "automation",
        "automation_run.started",
        {"job_id": JOB, "kind": "backfill", "params": {"days": 30, "instruments": [INSTRUMENT]}},
        "an automation run started",
    ),
    Example(
        "automation",
        "automation_run.updated",
        {"job_id": JOB},
        "only the required field: every optional field is absent (never null)",
        variant="minimal",
    ),
    Example(
        "automation",
        "automation_run.updated",
        {
            "job_id": JOB,
            "progress": 0.5,
            "message": "15 of 30 days",
            "status": "running",
            "stats": {"rows": 112500},
            "error": "one day skipped: holiday",
        },
        "every optional field set",
    ),
    Example(
        "automation",
        "automation_run.updated",
        {"job_id": JOB, "progress": 1.0, "status": "succeeded"},
        "a finished run: progress at its upper bound",
        variant="succeeded",
    ),
    # --- training
    Example(
        "training",
        "training.started",
        {"job_id": JOB, "kind": "ridge", "instrument_key": INSTRUMENT, "interval": "1m"},
        "a training job started",
    ),
    Example(
        "training",
        "training.progress",
        {"job_id": JOB, "progress": 0.25, "message": "fold 1 of 4", "metrics": {"val_mae": 0.00091}},
        "a training job progressed",
    ),
    Example(
        "training",
        "training.succeeded",
        {"job_id": JOB, "result": {"model_id": "ridge-7", "val_mae": 0.00088}},
        "a training job succeeded",
    ),
    Example(
        "training",
        "training.failed",
        {"job_id": JOB, "error": "not enough bars: 120 < 500"},
        "a failure with an error and no result",
    ),
    Example(
        "training",
        "training.failed",
        {"job_id": JOB, "result": {"folds_done": 2}, "error": "diverged"},
        "a failure with both optional fields",
        variant="with-result",
    ),
    Example(
        "training",
        "training.failed",
        {"job_id": JOB},
        "a failure with neither optional field",
        variant="minimal",
    ),
    # --- hft
    Example(
        "hft",
        "hft.start",
        {"broker": "paper", "safe_mode": True, "live_trading_enabled": False},
        "the trader started in safe mode",
    ),
    Example("hft", "hft.stop", {}, "the trader stopped; the payload is empty"),
    Example("hft", "hft.broker", {"broker": "upstox"}, "the broker changed"),
    Example("hft", "hft.error", {"error": "order rejected: margin"}, "the trader failed"),
    Example("hft", "hft.flatten", {"closed": 3, "errors": []}, "all positions flattened"),
    Example(
        "hft",
        "hft.entry",
        {"trade_id": 5001, "instrument_key": INSTRUMENT, "qty": 40, "entry": 2871.5},
        "a long entry",
    ),
    Example(
        "hft",
        "hft.entry",
        {"trade_id": 5002, "instrument_key": INSTRUMENT, "qty": -40, "entry": 2880.0},
        "a short entry: negative qty",
        variant="short",
    ),
    Example(
        "hft",
        "hft.exit",
        {"trade_id": 5001, "instrument_key": INSTRUMENT, "price": 2879.25, "pnl": 310.0, "reason": "target"},
        "a trade closed at its target",
    ),
    Example(
        "hft",
        "hft.trade_risk",
        {"trade_id": 5001, "stop": 2860.0, "target": 2879.25},
        "stop and target of a trade",
    ),
    Example("hft", "hft.manage_error", {"error": "stop update failed: timeout"}, "managing a trade failed"),
)

EPHEMERAL_EXAMPLES: tuple[Example, ...] = (
    Example(
        "market",
        "market.bars",
        {
            "interval": "1m",
            "ts": 1739592900,
            "close_ts": 1739592960,
            "bars": [
                {
                    "instrument_key": "NSE_EQ|INE002A01018",
                    "open": 2901.3,
                    "high": 2903.1,
                    "low": 2899.85,
                    "close": 2902.45,
                    "volume": 41250.0,
                },
                {
                    "instrument_key": "NSE_EQ|INE467B01029",
                    "open": 3901.0,
                    "high": 3901.0,
                    "low": 3896.2,
                    "close": 3897.55,
                    "volume": 12810.0,
                },
            ],
        },
        "two instruments' one-minute bars that closed at 09:16 IST",
    ),
    Example(
        "market",
        "market.bars",
        {"interval": "1m", "ts": 1739592960, "close_ts": 1739593020, "bars": []},
        "no instrument had a complete bar at that moment",
        variant="empty",
    ),
)

READY_EXAMPLES: tuple[tuple[str, JsonObject, str], ...] = (
    ("", {"resumed": False, "reason": None}, "a fresh connection (no `after`): live events only"),
    ("resumed", {"resumed": True, "reason": None}, "the resume held: the gap follows, then live events"),
    ("too-old", {"resumed": False, "reason": "too_old"}, "retention deleted part of the gap"),
    ("epoch-changed", {"resumed": False, "reason": "epoch_changed"}, "the log is not the one the client read"),
    ("ahead", {"resumed": False, "reason": "ahead"}, "`after` is beyond the head of the log"),
)


def control_examples(channels: tuple[str, ...]) -> tuple[Example, ...]:
    """A stream.ready of every outcome on the first channel, a fresh one and a heartbeat on every channel.

    An ephemeral stream's ready is always a fresh one at head 0 (nothing is stored).
    """
    examples: list[Example] = []
    for i, channel in enumerate(channels):
        if channel in EPHEMERAL:
            fresh = {"epoch": "5be1d07c9a42f316", "head_id": 0, "resumed": False, "reason": None}
            payload = {**fresh, "heartbeat_interval": 15.0}
            examples.append(Example(channel, "stream.ready", payload, "every connection: nothing to resume"))
            examples.append(Example(channel, "stream.heartbeat", {}, "an idle connection's heartbeat"))
            continue
        for variant, outcome, note in READY_EXAMPLES if i == 0 else READY_EXAMPLES[:1]:
            payload = {"epoch": "9f2c4e1ab37d0c55", "head_id": 4182, **outcome, "heartbeat_interval": 15.0}
            examples.append(Example(channel, "stream.ready", payload, note, variant))
        examples.append(Example(channel, "stream.heartbeat", {}, "an idle connection's heartbeat"))
    return tuple(examples)


# signaldesk's own event types (docs/websocket-contracts.md, below the contract). Their fixtures
# are numbered after every frame of the user's contract, so adding one never moves those.
EXTENSION_EXAMPLES: tuple[Example, ...] = (
    Example(
        "hft",
        "hft.state",
        {
            "state": "running",
            "halted_reason": None,
            "safe_mode": True,
            "live_trading_enabled": False,
            "broker": "paper",
        },
        "the engine runs on paper in safe mode",
    ),
    Example(
        "hft",
        "hft.state",
        {
            "state": "halted",
            "halted_reason": "daily loss limit breached: the day's PnL is -10,250.00, the limit 10,000.00",
            "safe_mode": True,
            "live_trading_enabled": False,
            "broker": "paper",
        },
        "halted by the daily loss limit",
        variant="halted",
    ),
    Example(
        "market",
        "market.status",
        {
            "source": "upstox",
            "status": "live",
            "since": 1739592312,
            "error": None,
            "segment": "NORMAL_OPEN",
            "gap": None,
            "connections": 1,
            "last_bar_close": 1739592960,
            "token_expires_at": 1739654999,
            "warning": None,
        },
        "the Upstox feed streams while NSE_EQ is open",
    ),
    Example(
        "market",
        "market.status",
        {
            "source": "upstox",
            "status": "token_expired",
            "since": 1739662200,
            "error": "feed authorize: token expired or invalid: Invalid token used to access API (UDAPI100050) "
            "(HTTP 401)",
            "segment": None,
            "gap": {
                "first_open": 1739592960,
                "last_close": 1739593080,
                "minutes": 2,
                "instruments": ["NSE_EQ|INE002A01018"],
                "reason": "intraday candles of NSE_EQ|INE002A01018: Too Many Request Sent (UDAPI10005) (HTTP 429)",
            },
            "connections": 3,
            "last_bar_close": 1739613600,
            "token_expires_at": 1739654999,
            "warning": "the Upstox access token expires at 2025-02-16 03:29:59 IST, before the session of "
            "2025-02-17 closes at 15:30 IST: renew it (signaldesk upstox login)",
        },
        "Upstox answered 401: the token expired at 03:30 IST",
        variant="token-expired",
    ),
    Example(
        "market",
        "market.status",
        {
            "source": "replay",
            "status": "finished",
            "since": 1739570000,
            "error": None,
            "segment": None,
            "gap": None,
            "connections": 0,
            "last_bar_close": 1739613600,
            "token_expires_at": None,
            "warning": None,
        },
        "a candle replay ran out",
        variant="replay-finished",
    ),
)
