"""Training jobs over REST: submit, list, read, cancel (events on the `training` channel)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from app.api import jobs
from app.api.schemas.errors import errors
from app.api.security import require_token
from app.training.jobs import FAMILY

router = APIRouter(
    prefix="/api/training/jobs",
    tags=["training"],
    dependencies=[Depends(require_token)],
    responses=errors(401, 404, 422),
)
jobs.add_job_routes(
    router,
    FAMILY,
    "",
    queue="Queue a training job (ridge, lgbm)",
    listing="Training jobs, newest first",
    reading="One training job (404 when unknown)",
    cancelling="Ask a job to stop (409 when it has already ended)",
)
