"""`signaldesk candles fetch` against the fake Upstox: spans stored, an interruption resumed,
refusals named, exit codes, no tracebacks."""

from __future__ import annotations

import asyncio
from pathlib import Path
from subprocess import CompletedProcess

from tests.market.conftest import ist
from tests.market.upstox.fake import CandleRow, FakeUpstox
from tests.support.cli import signaldesk

KEY = "NSE_EQ|INE002A01018"
RANGE = ("--from", "2024-01-15", "--to", "2024-03-10")


def minute_rows(*days: str) -> list[CandleRow]:
    return [(ist(f"{d} 09:15") + 60 * i, 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 10) for d in days for i in range(3)]


async def run(fake: FakeUpstox, data: Path, *args: str) -> CompletedProcess[str]:
    """The CLI in a child process, while the fake answers on this loop."""
    env = {
        "SIGNALDESK_UPSTOX_BASE_URL": fake.url,
        "SIGNALDESK_UPSTOX_ACCESS_TOKEN": "good-token",
        "SIGNALDESK_UPSTOX_HISTORY_RATE": "50",
        "SIGNALDESK_DATA_DIR": str(data),
    }
    return await asyncio.to_thread(signaldesk, "candles", *args, env=env)


async def test_fetch_stores_spans_and_resumes_after_an_interruption(fake: FakeUpstox, tmp_path: Path) -> None:
    data = tmp_path / "data"
    fake.history[(KEY, "minutes/1")] = minute_rows("2024-01-16", "2024-02-15", "2024-03-05")
    fake.history_fail_after = 1
    fake.history_fail_status = 401  # the token expires after January
    fetch = ("fetch", "--instrument", KEY, "--interval", "1minute", *RANGE)
    first = await run(fake, data, *fetch)
    assert first.returncode == 1 and "Traceback" not in first.stderr
    assert first.stderr.strip() == (
        f"error: {KEY} 1m 2024-02-01..2024-02-29: historical candles of {KEY} (minutes/1, 2024-02-01..2024-02-29): "
        "token expired or invalid: Invalid token used to access API (UDAPI100050) (HTTP 401); "
        "nothing of this span was stored (1 span stored before it kept)"
    )
    listed = await run(fake, data, "list")
    assert listed.stdout.splitlines()[1].split()[-1] == "3"

    fake.history_fail_after = None
    fake.history_requests.clear()
    second = await run(fake, data, *fetch)
    assert second.returncode == 0, second.stderr
    assert second.stdout.strip() == (
        f"{KEY} 1m 2024-01-15..2024-03-10: 3 spans (2 fetched, 1 already stored); 6 candles, 6 written, 0 unchanged"
    )
    assert [r[2] for r in fake.history_requests] == ["2024-02-01", "2024-03-01"]
    listed = await run(fake, data, "list")
    assert listed.stdout.splitlines()[1].split() == [KEY, "1m", "2024-01-16T03:45:00Z", "2024-03-05T03:47:00Z", "9"]


async def test_a_bad_candle_exits_1_naming_its_row_and_an_error_body_is_shown(fake: FakeUpstox, tmp_path: Path) -> None:
    data = tmp_path / "data"
    rows = minute_rows("2024-01-16")
    ts, o, h, low, c, v = rows[0]
    rows[0] = (ts, o, h, low, c, -v)
    fake.history[(KEY, "minutes/1")] = rows
    bad = await run(fake, data, "fetch", "--instrument", KEY, "--interval", "1m", *RANGE)
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    lines = bad.stderr.strip().splitlines()
    assert lines[0].startswith(f"error: {KEY} 1m 2024-01-15..2024-01-31: upstox {KEY} 1m 2024-01-15..2024-01-31: ")
    assert "1 bad value" in lines[0] and "nothing of this span was stored (0 spans stored before it kept)" in lines[0]
    assert lines[1] == "  line 3, volume: -10.0 is negative"
    assert (await run(fake, data, "list")).stdout.strip() == "no candles stored"

    fake.history_error = (400, "UDAPI1021", "Instrument key is invalid")
    refused = await run(fake, data, "fetch", "--instrument", KEY, "--interval", "1d", "--from", "2024-01-01")
    assert refused.returncode == 1 and "Instrument key is invalid (UDAPI1021) (HTTP 400)" in refused.stderr


async def test_bad_options_and_a_missing_token_exit_2(fake: FakeUpstox, tmp_path: Path) -> None:
    data = tmp_path / "data"
    cases = [
        (("--instrument", "RELIANCE", "--interval", "1m", *RANGE), "no instrument master is loaded"),
        (("--instrument", KEY, "--interval", "2m", *RANGE), "unknown interval '2m'"),
        (("--instrument", KEY, "--interval", "1m", "--from", "15/01/2024"), "--from '15/01/2024': a date such as"),
        (("--instrument", KEY, "--interval", "1m", "--from", "2024-03-01", "--to", "2024-01-01"), "is after --to"),
        (("--instrument", KEY, "--interval", "1m", *RANGE, "--rate", "0"), "--rate 0: between 0 and 50"),
        (("--instrument", KEY, "--interval", "1m", "--from", "2024-01-01", "--to", "2999-01-01"), "is after today"),
    ]
    for args, message in cases:
        result = await run(fake, data, "fetch", *args)
        assert result.returncode == 2 and message in result.stderr and "Traceback" not in result.stderr, result.stderr
    env = {"SIGNALDESK_DATA_DIR": str(data), "SIGNALDESK_UPSTOX_BASE_URL": fake.url}
    no_token = await asyncio.to_thread(
        signaldesk, "candles", "fetch", "--instrument", KEY, "--interval", "1m", *RANGE, env=env
    )
    assert no_token.returncode == 2 and "SIGNALDESK_UPSTOX_ACCESS_TOKEN: set it or" in no_token.stderr
    assert fake.history_requests == []
