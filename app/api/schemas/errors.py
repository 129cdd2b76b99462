"""The error answers, for the OpenAPI document: `{"detail": "..."}`, or for a bad field
`{"detail": [{"loc": [...], "msg": "..."}]}` naming each one (FastAPI's shape)."""

from __future__ import annotations

from typing import Any

from pydantic import ConfigDict

from app.api.schemas.base import ResponseModel


class Problem(ResponseModel):
    """One wrong field: where (`["body", "limits", "max_open_trades"]`) and why; some add `input`."""

    model_config = ConfigDict(extra="allow")

    loc: list[str | int]
    msg: str


class ErrorOut(ResponseModel):
    detail: str | list[Problem]


MEANING = {
    400: "A Host the server does not answer to (SIGNALDESK_ALLOWED_HOSTS), or a body that could not be read",
    401: "Missing or invalid bearer token (when the server has one)",
    403: "Refused; `detail` says why (live trading not enabled, an event type only the server publishes)",
    404: "Not found; `detail` names what",
    409: "Not allowed in the current state; `detail` says why and what to do",
    413: "The body is larger than the server takes (SIGNALDESK_MAX_EVENT_BYTES, SIGNALDESK_MAX_BODY_BYTES)",
    415: "A write whose body is not application/json",
    422: "A wrong field; `detail` names each one",
    429: "Too many writes (SIGNALDESK_WRITE_RATE); Retry-After says when to try again",
    502: "The broker did not answer as expected",
    503: "Not possible now: the storage refused the write (disk full, read-only, failing; Retry-After says when to "
    "try again), or the worker process the answer needs failed (`detail` says how)",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the error answers a route or router may give."""
    return {code: {"model": ErrorOut, "description": MEANING[code]} for code in codes}
