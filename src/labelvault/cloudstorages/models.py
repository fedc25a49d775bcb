"""Table of cloud storages: provider, bucket, attributes and (never returned) credentials."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow


class CloudStorage(Base):
    __tablename__ = "cloud_storages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    provider_type: Mapped[str] = mapped_column(String(32))
    resource: Mapped[str] = mapped_column(String(222))
    display_name: Mapped[str] = mapped_column(String(63))
    description: Mapped[str] = mapped_column(Text, default="")
    credentials_type: Mapped[str] = mapped_column(String(32))
    # CVAT's "key=value&key=value" string: endpoint_url, region, prefix.
    specific_attributes: Mapped[str] = mapped_column(String(1024), default="")
    # JSON object of the secrets (key, secret_key, session_token, account_name, ...); stored as
    # given because the server must present them to the provider; never sent by the API.
    credentials: Mapped[str] = mapped_column(Text, default="{}")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
