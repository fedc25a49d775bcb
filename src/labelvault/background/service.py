"""Rules of background requests: submit, run with progress, finish or fail, describe."""

from __future__ import annotations

import logging
import traceback
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from labelvault.background.models import Request
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.db.base import iso, utcnow
from labelvault.errors import LabelVaultError, disk_full_of

log = logging.getLogger(__name__)

STATUSES = ("queued", "started", "failed", "finished")
RESULT_TTL = timedelta(days=1)


class RequestFailed(LabelVaultError):
    """Raised by a handler to fail its request with a message meant for the user."""


@dataclass
class JobContext:
    """What a handler gets: the database, settings, its request and a progress callback."""

    db: Database
    settings: Settings
    request_id: str
    operation: str
    params: dict[str, Any]
    owner_id: int | None
    task_id: int | None = None
    project_id: int | None = None
    job_id: int | None = None
    result: dict[str, Any] = field(default_factory=dict)

    def progress(self, fraction: float, message: str = "") -> None:
        """Record progress in its own transaction so pollers see it at once."""
        fraction = min(max(fraction, 0.0), 1.0)
        with self.db.session() as session:
            values: dict[str, Any] = {"progress": fraction}
            if message:
                values["message"] = message
            session.execute(update(Request).where(Request.id == self.request_id).values(**values))


Handler = Callable[[JobContext], None]
HANDLERS: dict[str, Handler] = {}


def handler(operation: str) -> Callable[[Handler], Handler]:
    """Register the function that carries out requests of one operation type."""

    def register(func: Handler) -> Handler:
        HANDLERS[operation] = func
        return func

    return register


def create(
    db: Database,
    *,
    operation: str,
    target: str,
    owner_id: int | None,
    params: dict[str, Any] | None = None,
    task_id: int | None = None,
    project_id: int | None = None,
    job_id: int | None = None,
    format: str | None = None,
) -> str:
    """Store a queued request in its own committed transaction and return its id."""
    request_id = uuid.uuid4().hex
    with db.session() as session:
        session.add(
            Request(
                id=request_id,
                operation=operation,
                target=target,
                owner_id=owner_id,
                params=params or {},
                task_id=task_id,
                project_id=project_id,
                job_id=job_id,
                format=format,
                status="queued",
                progress=0.0,
                message="",
                created_date=utcnow(),
            )
        )
    return request_id


def execute(db: Database, settings: Settings, request_id: str) -> None:
    """Run one request to its end; never raises, the outcome is recorded on the request."""
    with db.session() as session:
        row = session.get(Request, request_id)
        if row is None or row.status not in ("queued",):
            return
        row.status = "started"
        row.started_date = utcnow()
        context = JobContext(
            db=db,
            settings=settings,
            request_id=row.id,
            operation=row.operation,
            params=dict(row.params or {}),
            owner_id=row.owner_id,
            task_id=row.task_id,
            project_id=row.project_id,
            job_id=row.job_id,
        )
    func = HANDLERS.get(context.operation)
    try:
        if func is None:
            raise RequestFailed(f"no handler for operation '{context.operation}'")
        func(context)
    except RequestFailed as exc:
        _finish(db, request_id, "failed", str(exc), context.result)
        return
    except Exception as exc:  # noqa: BLE001  (any bug must still end the request)
        full = disk_full_of(exc)
        if full is not None:
            log.error("request %s failed: %s", request_id, full)
            _finish(db, request_id, "failed", str(full), context.result)
            return
        log.error("request %s failed:\n%s", request_id, traceback.format_exc())
        _finish(db, request_id, "failed", f"{type(exc).__name__}: {exc}", context.result)
        return
    _finish(db, request_id, "finished", "", context.result)


def _finish(
    db: Database, request_id: str, status: str, message: str, result: dict[str, Any]
) -> None:
    with db.session() as session:
        values: dict[str, Any] = {"status": status, "finished_date": utcnow()}
        if status == "finished":
            values["progress"] = 1.0
            values["message"] = result.get("message", "")
        else:
            values["message"] = message
        for key in ("result_id", "result_path", "result_url"):
            if key in result:
                values[key] = result[key]
        session.execute(update(Request).where(Request.id == request_id).values(**values))


def recover_interrupted(db: Database) -> list[Request]:
    """At start: requests a dead process left 'started' fail, so nothing waits forever."""
    with db.session() as session:
        rows = list(session.scalars(select(Request).where(Request.status == "started")))
        for row in rows:
            row.status = "failed"
            row.message = "Interrupted by a server restart; please run it again."
            row.finished_date = utcnow()
        return rows


def request_json(row: Request, base_url: str, owner: dict[str, Any] | None) -> dict[str, Any]:
    finished = row.finished_date
    return {
        "id": row.id,
        "status": row.status,
        "message": row.message or "",
        "progress": row.progress,
        "created_date": iso(row.created_date),
        "started_date": iso(row.started_date),
        "finished_date": iso(finished),
        "expiry_date": iso(finished + RESULT_TTL) if finished else None,
        "owner": owner,
        "result_url": (base_url + row.result_url) if row.result_url else None,
        "result_id": row.result_id,
        "operation": {
            "type": row.operation,
            "target": row.target,
            "project_id": row.project_id,
            "task_id": row.task_id,
            "job_id": row.job_id,
            "format": row.format,
            "function_id": None,
            "lightweight": None,
            "org_id": None,
        },
    }
