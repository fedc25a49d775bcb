"""The audit log (admins), readiness with each dependency's latency, and Prometheus /metrics."""

from __future__ import annotations

import hmac
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.accounts.auth import admin_user
from labelvault.accounts.models import User
from labelvault.errors import Invalid, LabelVaultError
from labelvault.http import db_session, paginate, settings_of
from labelvault.observability import metrics
from labelvault.observability.audit import KINDS, event_json
from labelvault.observability.models import AuditEvent

router = APIRouter(tags=["audit"])


@router.get("/api/server/ready", tags=["server"])
async def readiness(request: Request) -> JSONResponse:
    """Ready when the database, the queue and the storage each answer; 503 names the one
    that does not. Public, for a platform's probe; it shows latencies, no secrets."""
    checks = request.app.state.readiness
    results = {}
    for name, check in checks.items():
        results[name] = await run_in_threadpool(metrics.probe, check)
    ready = all(r["ok"] for r in results.values())
    return JSONResponse(
        {"status": "ready" if ready else "not ready", "checks": results},
        status_code=200 if ready else 503,
    )


@router.get("/metrics", tags=["server"], include_in_schema=False)
async def prometheus_metrics(request: Request) -> Response:
    token = settings_of(request).metrics_token
    if token:
        sent = request.headers.get("authorization", "")
        if not hmac.compare_digest(sent.encode(), f"Bearer {token}".encode()):
            raise LabelVaultError("Send Authorization: Bearer <LABELVAULT_METRICS_TOKEN>.", 401)
    body = await run_in_threadpool(request.app.state.metrics.exposition)
    return Response(body, media_type=CONTENT_TYPE_LATEST)


@router.get("/api/audit")
def list_audit_events(
    request: Request,
    _: User = Depends(admin_user),
    session: Session = Depends(db_session),
    kind: str | None = None,
    username: str | None = None,
    address: str | None = None,
    since: datetime | None = None,
) -> dict[str, Any]:
    query = select(AuditEvent).order_by(AuditEvent.created.desc(), AuditEvent.id.desc())
    if kind:
        # A prefix such as "login" selects login.succeeded, login.failed and login.locked.
        kinds = [k for k in KINDS if k == kind or k.startswith(kind + ".")]
        if not kinds:
            raise Invalid(f"kind must be one of {', '.join(KINDS)} (or a prefix such as 'login')")
        query = query.where(AuditEvent.kind.in_(kinds))
    if username:
        query = query.where(AuditEvent.username == username)
    if address:
        query = query.where(AuditEvent.address == address)
    if since is not None:
        query = query.where(AuditEvent.created >= since)
    return paginate(request, session, query, lambda rows: [event_json(r) for r in rows])
