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
    400: "The body could not be read (not JSON, or cut short)",
    401: "Missing or invalid bearer token (when the server has one)",
    403: "Refused: live trading is not enabled in the server's configuration",
    404: "Not found; `detail` names what",
    409: "Not allowed in the current state; `detail` says why and what to do",
    422: "A wrong field; `detail` names each one",
    502: "The broker did not answer as expected",
}


def errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    """`responses=` for the error answers a route or router may give."""
    return {code: {"model": ErrorOut, "description": MEANING[code]} for code in codes}
