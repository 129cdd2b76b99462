"""GET /api/notify/status: what the notifier sent, what failed and why (docs/notifications.md)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends

from app.api.deps import NotifierDep
from app.api.schemas.errors import errors
from app.api.schemas.notify import NotifyDestination, NotifyFailure, NotifyStatus
from app.api.security import require_token
from app.notify.status import Failure

router = APIRouter(prefix="/api/notify", tags=["notify"], dependencies=[Depends(require_token)], responses=errors(401))


def _failure(failure: Failure | None) -> NotifyFailure | None:
    return NotifyFailure(**asdict(failure)) if failure is not None else None


@router.get(
    "/status", summary="The notifier: kinds sent, counts per URL, the last failure", response_model=NotifyStatus
)
async def read_notify_status(notifier: NotifierDep) -> NotifyStatus:
    status = notifier.status()
    return NotifyStatus(
        configured=status.configured,
        running=status.running,
        kinds=list(status.kinds),
        sent=status.total("sent"),
        failed=status.total("failed"),
        retries=status.total("retries"),
        last_failure=_failure(status.last_failure),
        destinations=[
            NotifyDestination(
                url=d.url,
                sent=d.sent,
                failed=d.failed,
                retries=d.retries,
                pending=d.pending,
                last_failure=_failure(d.last_failure),
            )
            for d in status.destinations
        ],
    )
