"""Tables of users, user groups, browser sessions and personal access tokens."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow

ROLES = ("admin", "user", "worker")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(150), unique=True)
    email: Mapped[str] = mapped_column(String(254), default="")
    first_name: Mapped[str] = mapped_column(String(150), default="")
    last_name: Mapped[str] = mapped_column(String(150), default="")
    password_hash: Mapped[str] = mapped_column(String(255), default="")
    # The system role, CVAT's meaning: admin sees everything, user creates work, worker annotates.
    role: Mapped[str] = mapped_column(String(16), default="user")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    date_joined: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    last_login: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class Group(Base):
    """A named team of users, e.g. to assign work to people who annotate together."""

    __tablename__ = "user_groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(150), unique=True)
    description: Mapped[str] = mapped_column(String(1000), default="")
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class UserGroup(Base):
    __tablename__ = "user_group_members"

    group_id: Mapped[int] = mapped_column(
        ForeignKey("user_groups.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class Session(Base):
    """A browser (cookie) session; only the sha256 of its key is stored."""

    __tablename__ = "sessions"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expiry_date: Mapped[datetime] = mapped_column(UtcDateTime())


class AccessToken(Base):
    """A personal access token (sent as `Authorization: Bearer …`); only its sha256 is stored."""

    __tablename__ = "access_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(150), default="")
    digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    expiry_date: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_used_date: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)


class OidcIdentity(Base):
    """Links an OIDC provider's subject to a local user: a login never matches by name alone."""

    __tablename__ = "oidc_identities"

    issuer: Mapped[str] = mapped_column(String(255), primary_key=True)
    subject: Mapped[str] = mapped_column(String(255), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
