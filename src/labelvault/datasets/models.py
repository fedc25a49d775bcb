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


class MigratedItem(Base):
    """One project or task `labelvault migrate-from-cvat` brought in from a CVAT server,
    keyed by that server's address and the item's id there: re-running adds nothing twice."""

    __tablename__ = "migrated_items"
    __table_args__ = (
        UniqueConstraint("source", "kind", "source_id", name="uq_migrated_items_source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(512))  # the CVAT server's base URL
    kind: Mapped[str] = mapped_column(String(16))  # "project" or "task"
    source_id: Mapped[int] = mapped_column(Integer)  # its id on that server
    name: Mapped[str] = mapped_column(String(256), default="")
    local_id: Mapped[int | None] = mapped_column(Integer, nullable=True)  # its id here
    migrated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
