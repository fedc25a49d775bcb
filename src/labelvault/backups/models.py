"""Tables of the backup catalog (every periodic backup made) and per-target backup status."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow


class BackupRecord(Base):
    """One backup file in `<storage>/backups-periodic/`, verified after upload."""

    __tablename__ = "backup_records"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # No foreign key to projects/tasks: a backup must outlive the project it saves.
    target_type: Mapped[str] = mapped_column(String(16))  # "project" | "task"
    target_id: Mapped[int] = mapped_column(Integer)
    # The target's never-reused uid: a later project given the same id is another target.
    # None for backups made before uids existed (only their owner and admins see those).
    target_uid: Mapped[str | None] = mapped_column(String(32), nullable=True, index=True)
    target_name: Mapped[str] = mapped_column(String(256), default="")
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # "annotations" | "full"
    reason: Mapped[str] = mapped_column(String(16), default="scheduled")
    path: Mapped[str] = mapped_column(String(1024), unique=True)
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha256: Mapped[str] = mapped_column(String(64))
    # What the target looked like (updated dates, annotation versions) when it was saved.
    fingerprint: Mapped[str] = mapped_column(String(64), default="")
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="good")  # "good" | "corrupt"

    __table_args__ = (
        Index("ix_backup_records_target", "target_type", "target_id", "kind", "created_date"),
    )


class BackupStatus(Base):
    """Schedule state of one target and kind; target_type "instance" holds the snapshots'."""

    __tablename__ = "backup_status"

    target_type: Mapped[str] = mapped_column(String(16), primary_key=True)
    target_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    # Whose schedule this is: a row left by a deleted target is reset for the next one.
    target_uid: Mapped[str | None] = mapped_column(String(32), nullable=True)
    target_name: Mapped[str] = mapped_column(String(256), default="")
    last_attempt: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_success: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_failure: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text, default="")
    failures: Mapped[int] = mapped_column(Integer, default=0)
    next_due: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_size: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_fingerprint: Mapped[str] = mapped_column(String(64), default="")
    warning: Mapped[str] = mapped_column(Text, default="")
