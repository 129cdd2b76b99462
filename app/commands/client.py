"""Talking to a running signaldesk server from the CLI: URL, token, and errors a person can read."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import typer
from rich.console import Console

from app.commands.settings import load_settings

err = Console(stderr=True)

UrlOption = Annotated[
    str | None, typer.Option("--url", help="Server URL (default http://SIGNALDESK_HOST:SIGNALDESK_PORT).")
]


def server_url(url: str | None) -> str:
    if url:
        return url.rstrip("/")

    settings = load_settings()
    return f"http://{settings.host}:{settings.port}"


def call(method: str, url: str | None, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
    """`send`, and the JSON of its answer."""
    result: dict[str, Any] = send(method, url, path, body).json()
    return result


def send(
    method: str, url: str | None, path: str, body: dict[str, Any] | None = None, params: dict[str, str] | None = None
) -> httpx.Response:
    """One REST call with SIGNALDESK_API_TOKEN; exits 1 with the server's message on an error answer."""

    token = load_settings().token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    base = server_url(url)
    try:
        response = httpx.request(method, base + path, json=body, params=params, headers=headers, timeout=30)
    except httpx.TransportError as e:
        err.print(f"[red]error:[/red] cannot reach {base}: {e}")
        raise typer.Exit(1) from e
    if response.status_code >= 400:
        try:
            detail = response.json().get("detail", response.text)
        except ValueError:
            detail = response.text
        if isinstance(detail, list):
            detail = "; ".join(f"{'.'.join(map(str, d.get('loc', [])))}: {d.get('msg')}" for d in detail)
        err.print(f"[red]error {response.status_code}:[/red] {detail}")
        raise typer.Exit(1)
    return response
