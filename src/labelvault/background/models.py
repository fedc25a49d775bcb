"""Table of background requests (task creation, import, export, backup) and their progress."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow


class Request(Base):
    __tablename__ = "requests"

    # URL-safe ids: the SDK percent-encodes the id into the polling path.
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    operation: Mapped[str] = mapped_column(String(32))  # e.g. "create:task"
    target: Mapped[str] = mapped_column(String(16))  # "task" | "project" | "job"
    project_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    task_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    job_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    format: Mapped[str | None] = mapped_column(String(128), nullable=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    status: Mapped[str] = mapped_column(String(16), default="queued")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str] = mapped_column(Text, default="")
    params: Mapped[dict] = mapped_column(JSON, default=dict)
    result_path: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    result_url: Mapped[str | None] = mapped_column(String(1024), nullable=True)
    result_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    started_date: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    finished_date: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
