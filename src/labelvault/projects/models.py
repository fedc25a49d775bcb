"""Tables of projects and label schemas (labels, skeleton sublabels, attribute specs)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, new_uid, utcnow


class Project(Base):
    __tablename__ = "projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Never reused, unlike SQLite's ids: what a periodic backup is keyed by.
    uid: Mapped[str] = mapped_column(String(32), unique=True, default=new_uid)
    name: Mapped[str] = mapped_column(String(256))
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
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)


class Label(Base):
    """A label of a project or of a task (never both); sublabels of a skeleton have a parent."""

    __tablename__ = "labels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int | None] = mapped_column(
        ForeignKey("projects.id", ondelete="CASCADE"), nullable=True, index=True
    )
    task_id: Mapped[int | None] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), nullable=True, index=True
    )
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("labels.id", ondelete="CASCADE"), nullable=True, index=True
    )
    name: Mapped[str] = mapped_column(String(64))
    color: Mapped[str] = mapped_column(String(8), default="")
    type: Mapped[str] = mapped_column(String(16), default="any")
    svg: Mapped[str] = mapped_column(Text, default="")


class AttributeSpec(Base):
    __tablename__ = "attribute_specs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    mutable: Mapped[bool] = mapped_column(Boolean, default=False)
    input_type: Mapped[str] = mapped_column(String(16))
    default_value: Mapped[str] = mapped_column(String(128), default="")
    # A JSON list of strings; for `number`: [min, max, step].
    values: Mapped[str] = mapped_column(Text, default="[]")
