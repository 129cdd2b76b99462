"""`signaldesk upstox login`: Upstox's OAuth code flow, ending in the access token file the
live feed reads (SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE, read again before every connection)."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from app.commands.settings import load_settings
from app.core.config import Settings
from app.market.calendar import IST
from app.market.upstox.errors import UpstoxError
from app.market.upstox.login import (
    BadRedirect,
    UpstoxApp,
    authorization_url,
    code_from,
    exchange_code,
    write_token,
)
from app.market.upstox.token_expiry import token_expiry

upstox_cli = typer.Typer(help="Upstox: log in for an access token.", no_args_is_help=True)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@upstox_cli.callback()
def _upstox() -> None:
    """Upstox: log in for an access token."""


@upstox_cli.command("login")
def login(
    code: Annotated[
        str | None, typer.Option(help="The code (or the whole address) Upstox redirected to; asked for when left out.")
    ] = None,
    out_path: Annotated[
        Path | None,
        typer.Option("--out", help="Where to write the token (default SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE)."),
    ] = None,
) -> None:
    """Print Upstox's login address, take the code it redirects with, and write the access token
    (0600). Needs SIGNALDESK_UPSTOX_CLIENT_ID, SIGNALDESK_UPSTOX_CLIENT_SECRET and
    SIGNALDESK_UPSTOX_REDIRECT_URI. Tokens expire at 03:30 IST: log in once a day."""
    settings = load_settings()
    app, target = _login_settings(settings, out_path)
    state = secrets.token_urlsafe(16)
    if code is None:
        out.print("Open this address, log in to Upstox, and paste the address it redirects you to:", markup=False)
        out.print(authorization_url(settings.upstox_base_url, app, state=state), markup=False, highlight=False)
        code = typer.prompt("code or redirected address")
    try:
        token = exchange_code(settings.upstox_base_url, app, code_from(code, state=state))
    except (BadRedirect, UpstoxError) as e:
        err.print(f"error: {e}", markup=False)
        raise typer.Exit(1) from e
    try:
        write_token(target, token)
    except OSError as e:
        err.print(f"error: cannot write the token to {target}: {e.strerror or e}", markup=False)
        raise typer.Exit(1) from e
    expires = token_expiry(token)
    until = f", valid until {_ist(expires)} IST" if expires is not None else ""
    err.print(f"access token written to {target} (0600){until}", markup=False)


def _login_settings(settings: Settings, out_path: Path | None) -> tuple[UpstoxApp, Path]:
    """The app's settings and where the token goes; exit 2 naming every one that is missing."""
    client_id, secret, redirect_uri = (
        settings.upstox_client_id,
        settings.upstox_client_secret,
        settings.upstox_redirect_uri,
    )
    target = out_path or settings.upstox_access_token_file
    if client_id and secret and redirect_uri and target:
        return UpstoxApp(client_id, secret.get_secret_value(), redirect_uri), target
    missing = [
        name
        for name, value in (
            ("SIGNALDESK_UPSTOX_CLIENT_ID", client_id),
            ("SIGNALDESK_UPSTOX_CLIENT_SECRET", secret),
            ("SIGNALDESK_UPSTOX_REDIRECT_URI", redirect_uri),
            ("SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE (or --out)", target),
        )
        if not value
    ]
    err.print(f"error: {', '.join(missing)} not set: `signaldesk upstox login` needs them", markup=False)
    raise typer.Exit(2)


def _ist(ts: int) -> str:
    return f"{datetime.fromtimestamp(ts, IST):%Y-%m-%d %H:%M}"
