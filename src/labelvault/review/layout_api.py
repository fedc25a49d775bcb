"""CVAT's validation layouts (the ground-truth job's frames) and the task status endpoint."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field
from sqlalchemy import select

from labelvault.access.deps import DbSession, ManagedTask, VisibleJob, VisibleTask
from labelvault.background.models import Request as BgRequest
from labelvault.errors import Invalid
from labelvault.review.ground_truth import ground_truth_job
from labelvault.tasks.service import job_frames

router = APIRouter()
FrameList = list[int]


class TaskLayout(BaseModel):
    mode: str | None
    frames_per_job_count: int | None
    validation_frames: FrameList
    disabled_frames: FrameList
    honeypot_count: int = Field(ge=0)
    honeypot_frames: FrameList
    honeypot_real_frames: FrameList


class JobLayout(BaseModel):
    honeypot_count: int = Field(ge=0)
    honeypot_frames: FrameList
    honeypot_real_frames: FrameList


class TaskLayoutWrite(BaseModel):
    disabled_frames: list[int] | None = None
    frame_selection_method: str | None = None
    honeypot_real_frames: list[int] | None = None


class JobLayoutWrite(BaseModel):
    frame_selection_method: str | None = None
    honeypot_real_frames: list[int] | None = None


def _task_layout(session: Any, task_id: int) -> dict[str, Any]:
    # LabelVault's validation is CVAT's "gt" mode (a ground-truth job over chosen frames);
    # the "gt_pool" mode (honeypots mixed into annotation jobs) does not exist here.
    gt = ground_truth_job(session, task_id)
    return {
        "mode": "gt" if gt is not None else None,
        "frames_per_job_count": None,
        "validation_frames": sorted(job_frames(gt)) if gt is not None else [],
        "disabled_frames": [],
        "honeypot_count": 0,
        "honeypot_frames": [],
        "honeypot_real_frames": [],
    }


@router.get("/api/tasks/{task_id}/validation_layout", response_model=TaskLayout, tags=["tasks"])
def task_layout(task: VisibleTask, session: DbSession) -> dict[str, Any]:
    return _task_layout(session, task.id)


@router.patch("/api/tasks/{task_id}/validation_layout", response_model=TaskLayout, tags=["tasks"])
async def patch_task_layout(task: ManagedTask, request: Request, session: DbSession) -> Any:
    raw = await request.body()
    body = TaskLayoutWrite.model_validate_json(raw) if raw.strip() else TaskLayoutWrite()
    layout = _task_layout(session, task.id)
    if not body.model_fields_set:
        return layout
    if layout["mode"] is None:
        raise Invalid(
            "This task has no validation frames: create a ground-truth job first "
            "(POST /api/jobs with type=ground_truth)."
        )
    if body.honeypot_real_frames is not None or body.frame_selection_method is not None:
        # As CVAT's own check for tasks not in "gt_pool" mode.
        raise Invalid(
            {
                "honeypot_real_frames": [
                    "Honeypots can only be changed in the 'gt_pool' mode; "
                    "this task is in the 'gt' mode, which has none."
                ]
            }
        )
    raise Invalid(
        {
            "disabled_frames": [
                "Disabling validation frames is not supported yet: change the "
                "ground-truth job's frames (delete it and create it again)."
            ]
        }
    )


@router.get("/api/jobs/{job_id}/validation_layout", response_model=JobLayout, tags=["jobs"])
def job_layout(job: VisibleJob) -> dict[str, Any]:
    return {"honeypot_count": 0, "honeypot_frames": [], "honeypot_real_frames": []}


@router.patch("/api/jobs/{job_id}/validation_layout", response_model=JobLayout, tags=["jobs"])
def patch_job_layout(job: VisibleJob, body: JobLayoutWrite) -> Any:
    raise Invalid(
        {
            "honeypot_real_frames": [
                "This job has no honeypots: only tasks in the 'gt_pool' "
                "validation mode have them, and LabelVault has no such mode."
            ]
        }
    )


# ---- task status ---------------------------------------------------------------------------
STATES = {"queued": "Queued", "started": "Started", "finished": "Finished", "failed": "Failed"}


class RqStatus(BaseModel):
    state: str
    message: str = ""
    progress: float = Field(0.0, ge=0, le=100)


@router.get("/api/tasks/{task_id}/status", response_model=RqStatus, tags=["tasks"])
def task_status(task: VisibleTask, session: DbSession) -> dict[str, Any]:
    """The newest data upload of the task; CVAT deprecates this for /api/requests, and
    2.80's SDK does not call it, but older scripts poll it after creating a task."""
    request = session.scalars(
        select(BgRequest)
        .where(BgRequest.operation == "create:task", BgRequest.task_id == task.id)
        .order_by(BgRequest.created_date.desc())
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
