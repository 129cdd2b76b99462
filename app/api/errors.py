"""Domain errors mapped to HTTP answers; no traceback ever reaches a client."""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request, status
from fastapi.exceptions import ResponseValidationError
from fastapi.responses import JSONResponse

from app.bus.errors import BusClosed, InvalidEvent
from app.predictor.errors import PredictorStateError
from app.storage.faults import storage_fault
from app.trading.errors import EngineStateError

log = logging.getLogger(__name__)


async def on_invalid_event(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InvalidEvent)
    detail = [{"loc": ["body", *p.loc], "msg": p.msg} for p in exc.problems]
    return JSONResponse({"detail": detail}, status_code=status.HTTP_422_UNPROCESSABLE_CONTENT)


async def on_bus_closed(request: Request, exc: Exception) -> JSONResponse:
    return JSONResponse({"detail": "server is shutting down"}, status_code=status.HTTP_503_SERVICE_UNAVAILABLE)


async def on_wrong_state(request: Request, exc: Exception) -> JSONResponse:
    """A command the service's current state does not allow (start twice, stop when stopped): 409."""
    return JSONResponse({"detail": str(exc)}, status_code=status.HTTP_409_CONFLICT)


async def on_wrong_answer(request: Request, exc: Exception) -> JSONResponse:
    """A route's answer does not match its response model: a server bug, named in the log."""
    assert isinstance(exc, ResponseValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors())
    log.error("the answer of %s %s does not match its response model: %s", request.method, request.url.path, problems)
    detail = "internal error: the answer did not match its documented shape; see the server log"
    return JSONResponse({"detail": detail}, status_code=status.HTTP_500_INTERNAL_SERVER_ERROR)


STORAGE_RETRY_AFTER = 10  # seconds: a person freeing space, or a disk coming back


async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
    fault = storage_fault(exc)
    if fault is not None:
        return on_storage_fault(request, fault)
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return JSONResponse({"detail": "internal error; see the server log"}, status_code=500)


def on_storage_fault(request: Request, fault: str) -> JSONResponse:
    """A write the storage refused: 503 naming where and why; nothing of the request was stored."""
    services = getattr(request.app.state, "services", None)
    where = f"the data directory {services.settings.data_dir}" if services is not None else "the storage"
    log.error("%s %s: %s cannot be written: %s", request.method, request.url.path, where, fault)
    detail = f"{where} cannot be written: {fault}; nothing was stored, retry once space is freed"
    return JSONResponse(
        {"detail": detail},
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        headers={"Retry-After": str(STORAGE_RETRY_AFTER)},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(InvalidEvent, on_invalid_event)
    app.add_exception_handler(BusClosed, on_bus_closed)
    app.add_exception_handler(EngineStateError, on_wrong_state)
    app.add_exception_handler(PredictorStateError, on_wrong_state)
    app.add_exception_handler(ResponseValidationError, on_wrong_answer)
    app.add_exception_handler(Exception, on_unexpected)
