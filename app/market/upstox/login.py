"""Upstox's OAuth code flow, the part a program does: the login address, the code from the
address Upstox redirected to, the code exchanged for an access token, the token written.

- The login dialog: `GET {base}/v2/login/authorization/dialog?client_id=..&redirect_uri=..
  &response_type=code&state=..` (a browser page on the API host, api.upstox.com); after the
  login Upstox redirects to `redirect_uri?code=..&state=..`.
- The token: `POST {base}/v2/login/authorization/token`, form-encoded `code, client_id,
  client_secret, redirect_uri, grant_type=authorization_code`, `Accept: application/json`;
  the answer's `access_token` (a JWT; it expires at 03:30 IST the next day).
- Errors come as `{"status": "error", "errors": [{"errorCode", "message"}]}`.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx

from app.market.upstox.errors import UpstoxError
from app.market.upstox.rest import json_answer

DIALOG_PATH = "/v2/login/authorization/dialog"
TOKEN_PATH = "/v2/login/authorization/token"


@dataclass(frozen=True, slots=True)
class UpstoxApp:
    """The app registered with Upstox (its API key and secret, its redirect URL)."""

    client_id: str
    client_secret: str
    redirect_uri: str

    def __repr__(self) -> str:  # never the secret
        return f"UpstoxApp(client_id={self.client_id!r}, redirect_uri={self.redirect_uri!r})"


def authorization_url(base_url: str, app: UpstoxApp, *, state: str) -> str:
    query = {"client_id": app.client_id, "redirect_uri": app.redirect_uri, "response_type": "code", "state": state}
    return f"{base_url.rstrip('/')}{DIALOG_PATH}?{urlencode(query)}"


class BadRedirect(ValueError):
    """What was pasted is neither a code nor the redirected address with a matching `state`."""


def code_from(answer: str, *, state: str) -> str:
    """The code in `answer`: the code itself, or the whole address Upstox redirected to (whose
    `state` must be the one sent: another login's code is refused)."""
    answer = answer.strip()
    if not answer:
        raise BadRedirect("no code given")
    if "://" not in answer and "?" not in answer:
        return answer
    query = parse_qs(urlsplit(answer).query)
    if "error" in query:
        raise BadRedirect(f"Upstox redirected with error {query['error'][0]!r}")
    codes = query.get("code")
    if not codes or not codes[0]:
        raise BadRedirect("the address has no `code` parameter")
    returned = query.get("state", [None])[0]
    if returned is not None and returned != state:
        raise BadRedirect("the address's `state` is not this login's: paste the address of this login")
    return codes[0]


def exchange_code(base_url: str, app: UpstoxApp, code: str) -> str:
    """The access token for `code` (UpstoxError naming Upstox's error otherwise)."""
    what = "token"
    form = {
        "code": code,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "redirect_uri": app.redirect_uri,
        "grant_type": "authorization_code",
    }
    try:
        response = httpx.post(
            f"{base_url.rstrip('/')}{TOKEN_PATH}", data=form, headers={"Accept": "application/json"}, timeout=15.0
        )
    except httpx.HTTPError as e:
        raise UpstoxError(what, f"{type(e).__name__}: {e}") from e
    token = json_answer(what, response, wrapped=False).get("access_token")
    if not isinstance(token, str) or not token.strip():
        raise UpstoxError(what, "the answer has no access_token")
    return token.strip()


def write_token(path: Path, token: str) -> None:
    """`token` into `path`, readable by its owner only (0600), atomically: a temporary file in
    the same directory, then a rename, so a reader (the live feed) never sees half a token."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            os.fchmod(f.fileno(), 0o600)
            f.write(token + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
