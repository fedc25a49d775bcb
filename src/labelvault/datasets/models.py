"""Which CVAT periodic-backup archives `labelvault adopt` has already brought in."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow


class AdoptedArchive(Base):
    """One archive taken in; keyed by its folder and file name (the name holds CVAT's
    timestamp), so the same backups found again, in any storage, add nothing twice."""

    __tablename__ = "adopted_archives"
    __table_args__ = (UniqueConstraint("folder", "archive", name="uq_adopted_archives_folder"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    folder: Mapped[str] = mapped_column(String(512))  # the project title's folder
    archive: Mapped[str] = mapped_column(String(512))  # file name, with its timestamp
    kind: Mapped[str] = mapped_column(String(16))  # "backup" or "annotations"
    stamp: Mapped[str] = mapped_column(String(32))  # YYYY_MM_DD_HH_MM_SS from the name
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True, index=True
    )
    adopted_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
