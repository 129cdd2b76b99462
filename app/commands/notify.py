"""`signaldesk notify ...`: a test message to every notification URL, and a server's notifier status."""

from __future__ import annotations

import asyncio
import socket

import typer
from rich.console import Console

from app.commands.client import UrlOption, call
from app.commands.settings import load_settings

notify_cli = typer.Typer(help="Alerts (SIGNALDESK_NOTIFY_URLS): test them, see what was sent.", no_args_is_help=True)
out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


@notify_cli.command("test")
def test() -> None:
    """Send one test message to each SIGNALDESK_NOTIFY_URLS URL, once, and say how each went
    (exit 1 when any failed). Needs no server."""
    from app.notify.kinds import Alert, AlertKind
    from app.notify.sender import Destination

    settings = load_settings()
    if not settings.notify_urls:
        err.print("[red]error:[/red] SIGNALDESK_NOTIFY_URLS is not set: there is nowhere to send to")
        raise typer.Exit(2)
    alert = Alert(
        AlertKind.TEST, "signaldesk test", f"a test message from signaldesk on {socket.gethostname()}: alerts reach you"
    )

    async def send() -> list[tuple[str, str | None]]:
        destinations = [
            Destination(url, timeout=settings.notify_timeout, retries=0, backoff=1.0) for url in settings.notify_urls
        ]
        reasons = await asyncio.gather(*(d.attempt(alert) for d in destinations))
        return [(d.status.url, reason) for d, reason in zip(destinations, reasons, strict=True)]

    failed = 0
    for url, reason in asyncio.run(send()):
        if reason is None:
            out.print(f"sent: {url}", markup=False)
        else:
            failed += 1
            err.print(f"failed: {url}: {reason}", markup=False)
    if failed:
        raise typer.Exit(1)


@notify_cli.command("status")
def status(url: UrlOption = None) -> None:
    """A running server's notifier: kinds, counts per URL, the last failure."""
    out.print_json(data=call("GET", url, "/api/notify/status"))
