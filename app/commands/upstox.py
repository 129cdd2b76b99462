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
from app.market.calendar import IST
from app.market.upstox.errors import UpstoxError
from app.market.upstox.login import BadRedirect, authorization_url, code_from, exchange_code, write_token
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
    missing = [
        name
        for name, value in (
            ("SIGNALDESK_UPSTOX_CLIENT_ID", settings.upstox_client_id),
            ("SIGNALDESK_UPSTOX_CLIENT_SECRET", settings.upstox_client_secret),
            ("SIGNALDESK_UPSTOX_REDIRECT_URI", settings.upstox_redirect_uri),
        )
        if not value
    ]
    target = out_path or settings.upstox_access_token_file
    if target is None:
        missing.append("SIGNALDESK_UPSTOX_ACCESS_TOKEN_FILE (or --out)")
    if missing:
        err.print(f"error: {', '.join(missing)} not set: `signaldesk upstox login` needs them", markup=False)
        raise typer.Exit(2)
    assert settings.upstox_client_id and settings.upstox_client_secret and settings.upstox_redirect_uri and target

    state = secrets.token_urlsafe(16)
    client_id, redirect_uri = settings.upstox_client_id, settings.upstox_redirect_uri
    if code is None:
        url = authorization_url(settings.upstox_base_url, client_id=client_id, redirect_uri=redirect_uri, state=state)
        out.print("Open this address, log in to Upstox, and paste the address it redirects you to:", markup=False)
        out.print(url, markup=False, highlight=False)
        code = typer.prompt("code or redirected address")
    try:
        token = exchange_code(
            settings.upstox_base_url,
            code=code_from(code, state=state),
            client_id=client_id,
            client_secret=settings.upstox_client_secret.get_secret_value(),
            redirect_uri=redirect_uri,
        )
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


def _ist(ts: int) -> str:
    return f"{datetime.fromtimestamp(ts, IST):%Y-%m-%d %H:%M}"
