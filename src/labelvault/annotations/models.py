"""Tables of tags, shapes, tracks and tracked shapes, one row per object.

Each row keeps its searchable columns (job, frame, label, type) plus a `body`: the object's
wire JSON without its id. Reading a job of 100k shapes is then one query and a string join,
no per-row object building, which is what keeps GET under a quarter second.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
BigId = BigInteger().with_variant(Integer(), "sqlite")


class LabeledImage(Base):
    """A tag: a label on a whole frame."""

    __tablename__ = "tags"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    frame: Mapped[int] = mapped_column(Integer)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), index=True)
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (Index("ix_tags_job_frame", "job_id", "frame"),)


class LabeledShape(Base):
    """A shape on one frame; skeleton elements are shapes whose parent is the skeleton."""

    __tablename__ = "shapes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"))
    frame: Mapped[int] = mapped_column(Integer)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), index=True)
    type: Mapped[str] = mapped_column(String(16))
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("shapes.id", ondelete="CASCADE"), nullable=True
    )
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index("ix_shapes_job_frame", "job_id", "frame"),
        # Only skeleton elements have a parent: indexing the NULLs of every other shape would
        # cost a sixth of a 100k-shape save for nothing.
        Index(
            "ix_shapes_parent_id",
            "parent_id",
            sqlite_where=text("parent_id IS NOT NULL"),
            postgresql_where=text("parent_id IS NOT NULL"),
        ),
    )


class LabeledTrack(Base):
    """An object followed over frames; its keyframes are TrackedShape rows."""

    __tablename__ = "tracks"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    frame: Mapped[int] = mapped_column(Integer)
    label_id: Mapped[int] = mapped_column(ForeignKey("labels.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("tracks.id", ondelete="CASCADE"), nullable=True
    )
    body: Mapped[str] = mapped_column(Text)

    __table_args__ = (
        Index(
            "ix_tracks_parent_id",
            "parent_id",
            sqlite_where=text("parent_id IS NOT NULL"),
            postgresql_where=text("parent_id IS NOT NULL"),
        ),
    )


class TrackedShape(Base):
    """One keyframe of a track."""

    __tablename__ = "track_shapes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    track_id: Mapped[int] = mapped_column(ForeignKey("tracks.id", ondelete="CASCADE"), index=True)
    frame: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
