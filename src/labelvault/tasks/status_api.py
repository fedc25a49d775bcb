"""CVAT's GET /api/tasks/{id}/status: how the task's data creation went (RqStatus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field
from sqlalchemy import select

from labelvault.access.deps import DbSession, VisibleTask
from labelvault.background.models import Request

router = APIRouter(tags=["tasks"])
STATES = {"queued": "Queued", "started": "Started", "finished": "Finished", "failed": "Failed"}


class RqStatus(BaseModel):
    state: str
    message: str = ""
    progress: float = Field(0.0, ge=0, le=100)


@router.get("/api/tasks/{task_id}/status", response_model=RqStatus)
def task_status(task: VisibleTask, session: DbSession) -> dict[str, Any]:
    """The newest data upload of the task; CVAT deprecates this for /api/requests, and
    2.80's SDK does not call it, but older scripts poll it after creating a task."""
    request = session.scalars(
        select(Request)
        .where(Request.operation == "create:task", Request.task_id == task.id)
        .order_by(Request.created_date.desc())
    ).first()
    if request is None:
        # CVAT answers "Unknown" here, which its own schema's enum lacks (the SDK would
        # refuse it): a task with data is done, one without never got any.
        if task.data_state == "ready":
            return {"state": "Finished", "message": "", "progress": 100.0}
        return {"state": "Failed", "message": "No data was uploaded to this task.", "progress": 0}
    progress = 100.0 if request.status == "finished" else 100.0 * float(request.progress or 0)
    return {
        "state": STATES.get(request.status, "Queued"),
        "message": request.message or "",
        "progress": min(100.0, max(0.0, progress)),
    }
