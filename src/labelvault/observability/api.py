"""Admin endpoint reading the audit log, newest first, filtered by kind, user and time."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Request
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.accounts.auth import admin_user
from labelvault.accounts.models import User
from labelvault.errors import Invalid
from labelvault.http import db_session, paginate
from labelvault.observability.audit import KINDS, event_json
from labelvault.observability.models import AuditEvent

router = APIRouter(tags=["audit"])


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
