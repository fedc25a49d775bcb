"""Tables of review: issues, comments, quality settings, reports, conflicts, activity."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow


class Issue(Base):
    __tablename__ = "issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    frame: Mapped[int] = mapped_column(Integer)
    # CVAT's flat point list [x1, y1, x2, y2, ...] of the region, in image pixels.
    position: Mapped[list] = mapped_column(JSON)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True, index=True
    )
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    resolved: Mapped[bool] = mapped_column(Boolean, default=False)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Comment(Base):
    __tablename__ = "comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    issue_id: Mapped[int] = mapped_column(ForeignKey("issues.id", ondelete="CASCADE"), index=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    message: Mapped[str] = mapped_column(Text)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class QualitySettings(Base):
    """How a task's annotations are compared to its ground truth (CVAT's QualitySettings)."""

    __tablename__ = "quality_settings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), unique=True, index=True
    )
    iou_threshold: Mapped[float] = mapped_column(Float, default=0.4)
    low_overlap_threshold: Mapped[float] = mapped_column(Float, default=0.8)
    target_metric: Mapped[str] = mapped_column(String(32), default="accuracy")
    target_metric_threshold: Mapped[float] = mapped_column(Float, default=0.7)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class QualityReport(Base):
    """A comparison of a job's, a task's or a project's annotations to ground truth (target)."""

    __tablename__ = "quality_reports"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # None for a project report (target "project"), which has project_id instead.
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True, index=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), nullable=True, index=True
    )
    # A job report's task report, a task report's project report (when made for one).
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("quality_reports.id", ondelete="CASCADE"), nullable=True, index=True
    )
    target: Mapped[str] = mapped_column(String(8))
    summary: Mapped[dict] = mapped_column(JSON)
    # The full comparison: parameters, per label figures, per frame results.
    data: Mapped[dict] = mapped_column(JSON)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    target_last_updated: Mapped[datetime] = mapped_column(UtcDateTime())
    gt_last_updated: Mapped[datetime] = mapped_column(UtcDateTime())


class AnnotationConflict(Base):
    __tablename__ = "quality_conflicts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(
        ForeignKey("quality_reports.id", ondelete="CASCADE"), index=True
    )
    frame: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    severity: Mapped[str] = mapped_column(String(16))
    # [{obj_id, job_id, type, shape_type}] as CVAT's AnnotationId.
    annotation_ids: Mapped[list] = mapped_column(JSON)


class ActivityEvent(Base):
    """One annotation save: who, when, where and how many objects it created/changed/deleted.

    Written by the save itself, in its transaction (one small row per save); working time
    is estimated from these rows when asked for, never stored.
    """

    __tablename__ = "activity_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="SET NULL"), nullable=True, index=True
    )
    task_id: Mapped[int] = mapped_column(ForeignKey("tasks.id", ondelete="CASCADE"), index=True)
    # None for a save of a whole task's annotations.
    job_id: Mapped[int | None] = mapped_column(
        ForeignKey("jobs.id", ondelete="CASCADE"), nullable=True
    )
    # replace (PUT), create, update or delete (PATCH ?action=), clear (DELETE).
    action: Mapped[str] = mapped_column(String(16))
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    deleted: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=0)
