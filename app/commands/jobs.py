"""`signaldesk train ...` and `signaldesk automation ...`: start a job on a running server and
follow its own events (WebSocket) with a progress bar until it ends; exit 1 when it fails."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from app.commands.client import UrlOption, call, server_url
from app.commands.settings import load_settings

train_cli = typer.Typer(help="Train models on a running server (training channel).", no_args_is_help=True)
automation_cli = typer.Typer(help="Automation runs and schedules of a running server.", no_args_is_help=True)
out = Console()
err = Console(stderr=True)

TERMINAL = {"succeeded", "failed", "cancelled"}
FollowOption = Annotated[bool, typer.Option("--follow/--no-follow", help="Follow the job's events until it ends.")]


def _json_option(text: str, option: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as e:
        err.print(f"[red]error:[/red] {option} is not JSON: {e}")
        raise typer.Exit(2) from e
    if not isinstance(value, dict):
        err.print(f"[red]error:[/red] {option} must be a JSON object")
        raise typer.Exit(2)
    return value


def _connect(url: str | None, channel: str) -> Any:
    from websockets.sync.client import connect

    token = load_settings().token
    base = server_url(url).replace("http://", "ws://", 1).replace("https://", "wss://", 1)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    try:
        ws = connect(f"{base}/api/ws/{channel}", additional_headers=headers, open_timeout=10)
    except (OSError, Exception) as e:  # noqa: BLE001 - any failure to connect reads the same to a person
        err.print(f"[red]error:[/red] cannot open the {channel} stream at {base}: {e}")
        raise typer.Exit(1) from e
    ready = json.loads(ws.recv(timeout=10))
    if ready.get("type") != "stream.ready":
        err.print(f"[red]error:[/red] unexpected first frame {ready}")
        raise typer.Exit(1)
    return ws


def _start_and_follow(url: str | None, channel: str, path: str, body: dict[str, Any], follow: bool) -> None:
    ws = _connect(url, channel) if follow else None  # subscribed before the job exists: no event missed
    try:
        job = call("POST", url, path, body)
        job_id = job["job_id"]
        err.print(f"{channel} job {job_id} ({job['kind']}) queued")
        if ws is None:
            out.print_json(data=job)
            return
        status, final = _follow(ws, channel, job_id)
    finally:
        if ws is not None:
            ws.close()
    out.print_json(data=final)
    if status != "succeeded":
        err.print(f"[red]{channel} job {job_id} {status}:[/red] {final.get('error', '')}")
        raise typer.Exit(1)


def _follow(ws: Any, channel: str, job_id: str) -> tuple[str, dict[str, Any]]:
    """Show the job's progress until its terminal event: (status, that event's payload)."""
    columns = (
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>5.1f}%"),
        TimeElapsedColumn(),
        TextColumn("{task.fields[message]}"),
    )
    with Progress(*columns, console=err, transient=False) as bar:
        task = bar.add_task(job_id, total=1.0, message="queued")
        for raw in ws:
            frame = json.loads(raw)
            payload = frame.get("payload", {})
            if frame.get("id") is None or payload.get("job_id") != job_id:
                continue
            kind = frame["type"]
            if "progress" in payload:
                bar.update(task, completed=payload["progress"])
            if payload.get("message"):
                bar.update(task, message=str(payload["message"])[:80])
            if kind == "training.succeeded":
                bar.update(task, completed=1.0)
                return "succeeded", payload
            if kind == "training.failed":
                return ("cancelled" if str(payload.get("error", "")).startswith("cancelled") else "failed"), payload
            if kind == "automation_run.updated" and payload.get("status") in TERMINAL:
                return payload["status"], payload
    err.print("[red]error:[/red] the stream ended before the job did; see GET /api/.../jobs/" + job_id)
    raise typer.Exit(1)


# --- train ---------------------------------------------------------------------------------


@train_cli.command("run")
def train_run(
    kind: Annotated[str, typer.Argument(help="ridge or lgbm")],
    instrument: Annotated[
        str, typer.Option("--instrument", "-i", help="Instrument key (or trading symbol) with stored candles.")
    ],
    interval: Annotated[str, typer.Option(help="Candle interval.")] = "1m",
    horizons: Annotated[str, typer.Option(help="Comma-separated horizon_steps.")] = "1,5",
    params: Annotated[str, typer.Option(help="More params as JSON, e.g. '{\"n_estimators\": 300}'.")] = "{}",
    follow: FollowOption = True,
    url: UrlOption = None,
) -> None:
    """Train a model and follow the job until it ends (exit 1 when it fails)."""
    try:
        hs = [int(h) for h in horizons.split(",") if h.strip()]
    except ValueError as e:
        err.print(f"[red]error:[/red] --horizons {horizons!r}: expected integers like 1,5")
        raise typer.Exit(2) from e
    body = {
        "kind": kind,
        "params": {
            "instrument_key": instrument,
            "interval": interval,
            "horizons": hs,
            **_json_option(params, "--params"),
        },
    }
    _start_and_follow(url, "training", "/api/training/jobs", body, follow)


@train_cli.command("list")
def train_list(url: UrlOption = None) -> None:
    """Training jobs, newest first."""
    out.print_json(data=call("GET", url, "/api/training/jobs"))


@train_cli.command("show")
def train_show(job_id: str, url: UrlOption = None) -> None:
    out.print_json(data=call("GET", url, f"/api/training/jobs/{job_id}"))


@train_cli.command("cancel")
def train_cancel(job_id: str, url: UrlOption = None) -> None:
    out.print_json(data=call("POST", url, f"/api/training/jobs/{job_id}/cancel"))


@train_cli.command("models")
def train_models(url: UrlOption = None) -> None:
    """The model registry."""
    out.print_json(data=call("GET", url, "/api/models"))


# --- automation ----------------------------------------------------------------------------


@automation_cli.command("run")
def automation_run(
    kind: Annotated[str, typer.Argument(help="backfill, retrain, evaluate, prune or square_off")],
    params: Annotated[str, typer.Option(help="Params as JSON, e.g. '{\"backfill_days\": 20}'.")] = "{}",
    follow: FollowOption = True,
    url: UrlOption = None,
) -> None:
    """Start a run and follow it until it ends (exit 1 when it fails)."""
    body = {"kind": kind, "params": _json_option(params, "--params")}
    _start_and_follow(url, "automation", "/api/automation/runs", body, follow)


@automation_cli.command("list")
def automation_list(url: UrlOption = None) -> None:
    out.print_json(data=call("GET", url, "/api/automation/runs"))


@automation_cli.command("show")
def automation_show(job_id: str, url: UrlOption = None) -> None:
    out.print_json(data=call("GET", url, f"/api/automation/runs/{job_id}"))


@automation_cli.command("cancel")
def automation_cancel(job_id: str, url: UrlOption = None) -> None:
    out.print_json(data=call("POST", url, f"/api/automation/runs/{job_id}/cancel"))


@automation_cli.command("schedules")
def automation_schedules(url: UrlOption = None) -> None:
    """Stored schedules (edit them with POST/PATCH/DELETE /api/automation/schedules)."""
    out.print_json(data=call("GET", url, "/api/automation/schedules"))


@automation_cli.command("schedule")
def automation_schedule(
    name: Annotated[str, typer.Argument(help="A name for the schedule.")],
    kind: Annotated[str, typer.Option(help="The run kind.")],
    cron: Annotated[str, typer.Option(help="minute hour day month weekday, e.g. '30 15 * * 1-5'.")],
    params: Annotated[str, typer.Option(help="Params as JSON.")] = "{}",
    timezone: Annotated[str, typer.Option(help="Time zone of the cron expression.")] = "Asia/Kolkata",
    url: UrlOption = None,
) -> None:
    """Add a schedule."""
    body = {"name": name, "kind": kind, "cron": cron, "timezone": timezone, "params": _json_option(params, "--params")}
    out.print_json(data=call("POST", url, "/api/automation/schedules", body))
