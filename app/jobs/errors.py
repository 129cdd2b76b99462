"""Errors of the job system; each carries what was wrong."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


class JobError(Exception):
    """Base of job errors."""


@dataclass(frozen=True, slots=True)
class ParamProblem:
    """One wrong parameter: where (a path into params) and what."""

    loc: tuple[str | int, ...]
    msg: str


class UnknownJobKind(JobError):
    def __init__(self, kind: str, known: Sequence[str]) -> None:
        self.kind = kind
        self.known = tuple(known)
        super().__init__(f"unknown kind {kind!r}; one of {', '.join(self.known)}")


class InvalidParams(JobError):
    """Parameters of a job that do not fit its kind; nothing was queued."""

    def __init__(self, kind: str, problems: Sequence[ParamProblem]) -> None:
        self.kind = kind
        self.problems = list(problems)
        detail = "; ".join(f"{'.'.join(map(str, p.loc)) or 'params'}: {p.msg}" for p in self.problems)
        super().__init__(f"bad params for {kind}: {detail}")


class JobNotFound(JobError):
    def __init__(self, job_id: str) -> None:
        self.job_id = job_id
        super().__init__(f"no job {job_id!r}")


class IllegalTransition(JobError):
    """A status change the lifecycle does not allow (e.g. cancelling a finished job)."""

    def __init__(self, job_id: str, current: str, target: str) -> None:
        self.job_id = job_id
        self.current = current
        self.target = target
        super().__init__(f"job {job_id} is {current}; it cannot become {target}")


class JobFailed(JobError):
    """Raised by a handler to end its job failed with a clear error and, optionally, a result."""

    def __init__(self, error: str, result: dict[str, object] | None = None) -> None:
        self.error = error
        self.result = result
        super().__init__(error)


class JobAborted(JobError):
    """Raised inside a worker that honoured an abort request."""

    def __init__(self, reason: str = "cancelled") -> None:
        self.reason = reason
        super().__init__(reason)


class WorkerDied(JobError):
    """The worker process ended without a result (killed, crashed, out of memory)."""

    def __init__(self, pid: int | None, exitcode: int | None, reason: str) -> None:
        self.pid = pid
        self.exitcode = exitcode
        super().__init__(reason)


class WorkerError(JobError):
    """The work raised in the worker process; `type_name` is the exception's class there."""

    def __init__(self, type_name: str, message: str) -> None:
        self.type_name = type_name
        self.message = message
        super().__init__(message)
