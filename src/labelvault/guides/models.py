"""An annotation guide (one per project or task) and the image assets its markdown shows."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow


class Guide(Base):
    __tablename__ = "guides"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, unique=True
    )
    markdown: Mapped[str] = mapped_column(Text, default="")
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class GuideAsset(Base):
    """An uploaded image, kept in the database (at most 10 MB, CVAT's limit): it goes with
    its guide, and snapshots carry it with no files to track."""

    __tablename__ = "guide_assets"

    uuid: Mapped[str] = mapped_column(String(36), primary_key=True)
    guide_id: Mapped[int] = mapped_column(ForeignKey("guides.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(String(1024))
    content_type: Mapped[str] = mapped_column(String(128))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
