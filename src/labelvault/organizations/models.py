"""Tables of organizations, memberships and invitations (CVAT's shapes)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow

# CVAT's order: a lower rank may do everything a higher one may.
ROLE_RANK = {"owner": 0, "maintainer": 50, "supervisor": 75, "worker": 100}


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(16), unique=True)
    name: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(Text, default="")
    contact: Mapped[dict] = mapped_column(JSON, default=dict)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Membership(Base):
    """A user's role in an organization; inactive until its invitation is accepted."""

    __tablename__ = "memberships"
    __table_args__ = (UniqueConstraint("user_id", "organization_id", name="uq_memberships_user"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    organization_id: Mapped[int] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), index=True
    )
    is_active: Mapped[bool] = mapped_column(Boolean, default=False)
    joined_date: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    role: Mapped[str] = mapped_column(String(16))


class Invitation(Base):
    """The key is the secret of the invitation link; the membership waits on it."""

    __tablename__ = "invitations"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    sent_date: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    membership_id: Mapped[int] = mapped_column(
        ForeignKey("memberships.id", ondelete="CASCADE"), unique=True
    )
