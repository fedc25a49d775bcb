"""Tables of webhooks and their deliveries (CVAT's shapes, plus our retry bookkeeping)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow


class Webhook(Base):
    """`type` is "project" (project_id set) or "organization" (organization_id set)."""

    __tablename__ = "webhooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_url: Mapped[str] = mapped_column(String(8192))
    description: Mapped[str] = mapped_column(String(128), default="")
    # Comma-separated event keys, e.g. "create:task,update:job".
    events: Mapped[str] = mapped_column(String(4096), default="")
    type: Mapped[str] = mapped_column(String(16))
    content_type: Mapped[str] = mapped_column(String(64), default="application/json")
    secret: Mapped[str] = mapped_column(String(64), default="")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    enable_ssl: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebhookDelivery(Base):
    """One event sent (or being sent) to one webhook; `attempt` counts tries so far."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    webhook_id: Mapped[int] = mapped_column(
        ForeignKey("webhooks.id", ondelete="CASCADE"), index=True
    )
    event: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    redelivery: Mapped[bool] = mapped_column(Boolean, default=False)
    attempt: Mapped[int | None] = mapped_column(Integer, nullable=True)
    request_duration: Mapped[int | None] = mapped_column(Integer, nullable=True)
    changed_fields: Mapped[str] = mapped_column(String(4096), default="")
    request: Mapped[dict] = mapped_column(JSON, default=dict)
    response: Mapped[dict] = mapped_column(JSON, default=dict)
    # "queued" → "delivered" | "failed" (every attempt used); retries wait in "queued".
    state: Mapped[str] = mapped_column(String(16), default="queued")
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class WebhookOutbox(Base):
    """Events of one commit, written in that commit, waiting to become deliveries.

    The row is deleted in the transaction that records the deliveries, so an event survives
    a crash between the save and its hand-over (it is sent at the next start).
    """

    __tablename__ = "webhook_outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    events: Mapped[list] = mapped_column(JSON)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
