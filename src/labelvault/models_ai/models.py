"""Table of registered models: what kind, where it runs, its labels and whether it is on."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from labelvault.db.base import Base, UtcDateTime, utcnow


class Model(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # CVAT's function id: the name, as /api/lambda/functions/{id} takes it.
    name: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))  # deepaas | onnx | function | lsml
    # CVAT's function kind: "detector" (frames -> shapes) or "interactor" (clicks -> a shape).
    function_kind: Mapped[str] = mapped_column(String(16), default="detector")
    description: Mapped[str] = mapped_column(Text, default="")
    # [{"name": "car", "type": "rectangle"}, ...]: what the model can answer.
    labels: Mapped[list] = mapped_column(JSON, default=list)
    # Kind-specific: url and model name (deepaas), path and model card (onnx), module or
    # file (function), url (lsml), timeout, how the reply maps to shapes.
    config: Mapped[dict] = mapped_column(JSON, default=dict)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    # The organization the model serves (registered in its context); None: every user.
    # Deleting the organization deletes its models, never hands them to everyone.
    organization_id: Mapped[int | None] = mapped_column(
        ForeignKey("organizations.id", ondelete="CASCADE"), nullable=True, index=True
    )
    created_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
    updated_date: Mapped[datetime] = mapped_column(UtcDateTime(), default=utcnow)
