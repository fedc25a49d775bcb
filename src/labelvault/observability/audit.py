"""Record security events (logins, tokens, roles, deletes, restores) in the database and the log."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelvault.db.base import iso, utcnow
from labelvault.observability.models import AuditEvent

log = logging.getLogger("labelvault.audit")

# The event kinds, so a reader of the API knows what to filter on.
KINDS = (
    "login.succeeded",
    "login.failed",
    "login.locked",
    "logout",
    "token.created",
    "token.revoked",
    "token.updated",
    "user.created",
    "user.role_changed",
    "user.deleted",
    "user.registered",
    "password.reset_requested",
    "password.reset_mailed",
    "password.reset",
    "project.deleted",
    "task.deleted",
    "label.deleted",
    "backup.deleted",
    "backup.restore",
    "snapshot.deleted",
    "snapshot.restore",
)


class Actor(Protocol):
    id: int
    username: str


def address_of(request: Any) -> str:
    """The client's address as the trusted-proxy middleware left it in the scope."""
    client = getattr(request, "client", None)
    return (client.host if client else "")[:64]


def event(
    kind: str,
    *,
    user: Actor | None = None,
    username: str = "",
    address: str = "",
    target: str = "",
    detail: str = "",
) -> AuditEvent:
    if kind not in KINDS:  # pragma: no cover - a typo in a caller, caught by the tests
        raise ValueError(f"unknown audit event kind {kind!r}")
    row = AuditEvent(
        kind=kind,
        created=utcnow(),
        user_id=user.id if user is not None else None,
        username=(user.username if user is not None else username)[:150],
        address=address[:64],
        target=target[:200],
        detail=detail[:1000],
    )
    # The log line goes out whether or not a database is at hand; JSON logs carry the fields.
    log.info(
        "%s user=%s address=%s target=%s %s",
        kind,
        row.username or "-",
        row.address or "-",
        row.target or "-",
        row.detail,
        extra={"audit": event_json(row)},
    )
    return row


def record(session: Session, kind: str, **fields: Any) -> AuditEvent:
    """Add the event to the caller's transaction: it is kept exactly when the action is."""
    row = event(kind, **fields)
    session.add(row)
    return row


def record_now(sessionmaker: Any, kind: str, **fields: Any) -> None:
    """Commit the event on its own: a failed login's request rolls back, its record must not."""
    with sessionmaker() as session:
        session.add(event(kind, **fields))
        session.commit()


def count_since(
    session: Session, kind: str, since: datetime, *, username: str = "", address: str = ""
) -> tuple[int, datetime | None]:
    """How many `kind` events since `since` for this account or address, and the oldest one."""
    query = select(func.count(), func.min(AuditEvent.created)).where(
        AuditEvent.kind == kind, AuditEvent.created > since
    )
    if username:
        query = query.where(AuditEvent.username == username)
    if address:
        query = query.where(AuditEvent.address == address)
    count, oldest = session.execute(query).one()
    return int(count), oldest


def last_of(session: Session, kind: str, username: str) -> datetime | None:
    return session.scalar(
        select(func.max(AuditEvent.created)).where(
            AuditEvent.kind == kind, AuditEvent.username == username
        )
    )


def event_json(row: AuditEvent) -> dict[str, Any]:
    return {
        "id": row.id,
        "created": iso(row.created or utcnow()),
        "kind": row.kind,
        "user_id": row.user_id,
        "username": row.username,
        "address": row.address,
        "target": row.target,
        "detail": row.detail,
    }
