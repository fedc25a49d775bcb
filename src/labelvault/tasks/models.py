"""Tables of tasks (with their data parameters) and jobs (a frame range for one annotator)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, new_uid, utcnow


class Task(Base):
    __tablename__ = "tasks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Never reused, unlike SQLite's ids: what a periodic backup is keyed by.
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_uid)
    name: Mapped[str] = mapped_column(String(256))
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="SET NULL"), nullable=True, index=True
    )
    assignee_updated_date: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    bug_tracker: Mapped[str] = mapped_column(String(2000), default="")
    subset: Mapped[str] = mapped_column(String(64), default="")
    segment_size: Mapped[int] = mapped_column(Integer, default=0)
    overlap: Mapped[int | None] = mapped_column(Integer, nullable=True)
    # "" until data is attached, then "annotation" (images) or "interpolation" (video).
    mode: Mapped[str] = mapped_column(String(16), default="")
    dimension: Mapped[str] = mapped_column(String(2), default="2d")
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Data parameters (CVAT keeps them in a separate Data row; one task has one data set).
    size: Mapped[int] = mapped_column(Integer, default=0)
    image_quality: Mapped[int] = mapped_column(Integer, default=70)
    chunk_size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    start_frame: Mapped[int] = mapped_column(Integer, default=0)
    stop_frame: Mapped[int] = mapped_column(Integer, default=0)
    frame_filter: Mapped[str] = mapped_column(String(256), default="")
    sorting_method: Mapped[str] = mapped_column(String(32), default="lexicographical")
    storage: Mapped[str] = mapped_column(String(16), default="local")
    # "none" → "uploading" → "ready"; a task whose data failed goes back to "none".
    data_state: Mapped[str] = mapped_column(String(16), default="none")
    deleted_frames: Mapped[list] = mapped_column(JSON, default=list)
    # The cloud storage the task's frames are read from (cloud://<id>/… frame paths).
    cloud_storage_id: Mapped[int | None] = mapped_column(
        ForeignKey("cloud_storages.id", ondelete="SET NULL"), nullable=True
    )
    # CVAT's consensus_replicas: how many replica jobs each annotation job has (0: none).
    consensus_replicas: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class Job(Base):
    __tablename__ = "jobs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    start_frame: Mapped[int] = mapped_column(Integer)
    stop_frame: Mapped[int] = mapped_column(Integer)
    # Explicit frame list for jobs made from a job_file_mapping; None means the whole range.
    frames: Mapped[list | None] = mapped_column(JSON, nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    assignee_updated_date: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    stage: Mapped[str] = mapped_column(String(16), default="annotation")
    state: Mapped[str] = mapped_column(String(16), default="new")
    type: Mapped[str] = mapped_column(String(32), default="annotation")
    # A consensus replica's annotation job (CVAT's parent_job_id); None for every other type.
    parent_job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    # Bumped by every annotation write, returned as `version` in the annotation JSON.
    annotation_version: Mapped[int] = mapped_column(Integer, default=0)
