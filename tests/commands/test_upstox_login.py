"""`signaldesk upstox login` as a person runs it, against the fake Upstox's token endpoint: the
login address, the code (given, or pasted as the redirected address), the token file (0600,
replaced whole), and Upstox's errors by name with exit code 1 and no traceback."""

from __future__ import annotations

import asyncio
import os
import stat
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from tests.market.upstox.conftest import jwt
from tests.market.upstox.fake import FakeUpstox

TOKEN = jwt({"sub": "AB1234", "exp": 1706220000})  # 2024-01-26 03:30 IST


class Run:
    def __init__(self, code: int, stdout: str, stderr: str) -> None:
        self.code, self.stdout, self.stderr = code, stdout, stderr


def login_env(fake: FakeUpstox, token_file: Path, **overrides: str) -> dict[str, str]:
    env = {
        "SIGNALDESK_UPSTOX_BASE_URL": fake.login_url,
        "SIGNALDESK_UPSTOX_CLIENT_ID": fake.app["client_id"],
        "SIGNALDESK_UPSTOX_CLIENT_SECRET": fake.app["client_secret"],
        "SIGNALDESK_UPSTOX_REDIRECT_URI": fake.app["redirect_uri"],
        "SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE": str(token_file),
        **overrides,
    }
    return {k: v for k, v in env.items() if v}


async def start(*args: str, env: dict[str, str]) -> asyncio.subprocess.Process:
    """`signaldesk upstox login ...` as a child process (the fake keeps serving meanwhile)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith("SIGNALDESK_")}
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        "upstox",
        "login",
        *args,
        env={**clean, **env},
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )


async def finish(proc: asyncio.subprocess.Process, answer: str | None = None) -> Run:
    stdout, stderr = await asyncio.wait_for(proc.communicate(answer.encode() if answer else None), 60)
    assert proc.returncode is not None
    return Run(proc.returncode, stdout.decode(), stderr.decode())


async def test_a_given_code_is_exchanged_and_the_token_written_0600(fake: FakeUpstox, tmp_path: Path) -> None:
    fake.login_codes["code-1"] = TOKEN
    token_file = tmp_path / "secrets" / "upstox-token"
    run = await finish(await start("--code", "code-1", env=login_env(fake, token_file)))
    assert run.code == 0, run.stderr
    assert token_file.read_text() == TOKEN + "\n"
    assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert f"access token written to {token_file} (0600), valid until 2024-01-26 03:30 IST" in run.stderr
    assert [p.name for p in token_file.parent.iterdir()] == ["upstox-token"]  # no temporary left
    (posted,) = fake.token_requests
    assert posted == {
        "code": "code-1",
        "client_id": "app-key",
        "client_secret": "app-secret",
        "redirect_uri": "https://127.0.0.1/upstox",
        "grant_type": "authorization_code",
        "accept": "application/json",
        "type": "application/x-www-form-urlencoded",
    }


async def test_the_login_address_is_printed_and_the_pasted_redirect_gives_the_code(
    fake: FakeUpstox, tmp_path: Path
) -> None:
    fake.login_codes["code-2"] = TOKEN
    token_file = tmp_path / "upstox-token"
    token_file.write_text("yesterdays-token\n")
    env = login_env(fake, tmp_path / "unused", SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE="")
    proc = await start("--out", str(token_file), env=env)
    address = await login_address(proc)
    parts = urlsplit(address)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{fake.login_url}/v2/login/authorization/dialog"
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    assert query.pop("state")
    assert query == {"client_id": "app-key", "redirect_uri": "https://127.0.0.1/upstox", "response_type": "code"}
    state = parse_qs(parts.query)["state"][0]
    run = await finish(proc, f"https://127.0.0.1/upstox?code=code-2&state={state}\n")
    assert run.code == 0, run.stderr
    assert token_file.read_text() == TOKEN + "\n" and stat.S_IMODE(token_file.stat().st_mode) == 0o600
    assert not (tmp_path / "unused").exists()


async def test_a_redirect_of_another_login_is_refused(fake: FakeUpstox, tmp_path: Path) -> None:
    fake.login_codes["code-3"] = TOKEN
    token_file = tmp_path / "upstox-token"
    proc = await start(env=login_env(fake, token_file))
    await login_address(proc)
    run = await finish(proc, "https://127.0.0.1/upstox?code=code-3&state=someone-elses\n")
    assert run.code == 1 and "Traceback" not in run.stderr
    assert "error: the address's `state` is not this login's" in run.stderr
    assert fake.token_requests == [] and not token_file.exists()


async def test_upstox_errors_are_named_exit_1_and_leave_the_token_file_alone(fake: FakeUpstox, tmp_path: Path) -> None:
    token_file = tmp_path / "upstox-token"
    token_file.write_text("yesterdays-token\n")
    run = await finish(await start("--code", "no-such-code", env=login_env(fake, token_file)))
    assert run.code == 1 and "Traceback" not in run.stderr
    assert run.stderr.strip() == "error: token: Invalid Auth code (UDAPI100057) (HTTP 400)"
    fake.login_codes["code-4"] = TOKEN
    wrong = login_env(fake, token_file, SIGNALDESK_UPSTOX_CLIENT_SECRET="not-the-secret")
    run = await finish(await start("--code", "code-4", env=wrong))
    assert run.code == 1 and run.stderr.strip() == "error: token: Invalid Credentials (UDAPI100016) (HTTP 401)"
    assert token_file.read_text() == "yesterdays-token\n"


async def test_missing_or_bad_settings_are_named_with_exit_2(fake: FakeUpstox, tmp_path: Path) -> None:
    token_file = tmp_path / "upstox-token"
    env = login_env(fake, token_file, SIGNALDESK_UPSTOX_CLIENT_SECRET="", SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE="")
    run = await finish(await start("--code", "x", env=env))
    assert run.code == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip() == (
        "error: SIGNALDESK_UPSTOX_CLIENT_SECRET, SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE (or --out) not set: "
        "`signaldesk upstox login` needs them"
    )
    bad = login_env(fake, token_file, SIGNALDESK_UPSTOX_REDIRECT_URI="localhost/upstox")
    run = await finish(await start("--code", "x", env=bad))
    assert run.code == 2 and "SIGNALDESK_UPSTOX_REDIRECT_URI: must be the http(s):// URL" in run.stderr
    assert fake.token_requests == []


async def login_address(proc: asyncio.subprocess.Process) -> str:
    """The login address the command prints (the line after its instruction)."""
    assert proc.stdout is not None
    while True:
        line = (await asyncio.wait_for(proc.stdout.readline(), 30)).decode()
        assert line, "the command ended without printing the login address"
        if line.startswith("http"):
            return line.strip()
