"""The audit log table: one row per security event, kept when the user or target is gone."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow


class AuditEvent(Base):
    """Who did what, from where. No foreign keys: deleting a user must not erase its trail."""

    __tablename__ = "audit_events"
    __table_args__ = (
        # The login throttle counts recent failures per account and per address.
        Index("ix_audit_events_kind_username_created", "kind", "username", "created"),
        Index("ix_audit_events_kind_address_created", "kind", "address", "created"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow, index=True)
    kind: Mapped[str] = mapped_column(String(40))
    user_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    username: Mapped[str] = mapped_column(String(150), default="")
    address: Mapped[str] = mapped_column(String(64), default="")
    target: Mapped[str] = mapped_column(String(200), default="")
    detail: Mapped[str] = mapped_column(String(1000), default="")
