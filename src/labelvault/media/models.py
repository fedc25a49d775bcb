"""Table of a task's frames: file name, size and where the bytes live."""

from __future__ import annotations

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base


class Frame(Base):
    __tablename__ = "frames"

    task_id: Mapped[int] = mapped_column(
        ForeignKey("tasks.id", ondelete="CASCADE"), primary_key=True
    )
    frame: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The name the user knows (relative path inside the upload, share or bucket).
    name: Mapped[str] = mapped_column(String(1024))
    # Where the bytes are, relative to the task's media directory.
    path: Mapped[str] = mapped_column(String(1024))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
