"""CVAT's validation layout of tasks and jobs: which frames validate (the ground-truth job's)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from labelvault.access.deps import DbSession, ManagedTask, VisibleJob, VisibleTask
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
