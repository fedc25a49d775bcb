"""Wire shapes of review: CVAT's IssueWrite / PatchedIssueWrite / CommentWrite requests."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class IssueWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    frame: int = Field(ge=0)
    position: list[float] = Field(min_length=2)
    job: int
    message: str = Field(min_length=1)
    assignee: int | None = None
    resolved: bool = False


class IssuePatch(BaseModel):
    """frame, job and message are write-once in CVAT; only these change later."""

    model_config = ConfigDict(extra="forbid")

    position: list[float] | None = Field(default=None, min_length=2)
    assignee: int | None = None
    resolved: bool | None = None


class CommentWrite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    issue: int
    message: str = Field(min_length=1)


class CommentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    message: str = Field(min_length=1)


class GroundTruthWrite(BaseModel):
    """CVAT's JobWriteRequest for POST /api/jobs (only ground-truth jobs are created so)."""

    model_config = ConfigDict(extra="forbid")

    type: str
    task_id: int
    frame_selection_method: str = "random_uniform"
    frames: list[int] | None = Field(default=None, min_length=1)
    frame_count: int | None = Field(default=None, ge=1)
    frame_share: float | None = Field(default=None, gt=0, le=1)
    frames_per_job_count: int | None = Field(default=None, ge=1)
    frames_per_job_share: float | None = Field(default=None, gt=0, le=1)
    random_seed: int | None = Field(default=None, ge=0)
    assignee: int | None = None


class QualityReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    task_id: int | None = None
    project_id: int | None = None


class QualitySettingsPatch(BaseModel):
    """The settings this server applies; CVAT's other fields are accepted and ignored."""

    model_config = ConfigDict(extra="ignore")

    iou_threshold: float | None = Field(default=None, ge=0, le=1)
    low_overlap_threshold: float | None = Field(default=None, ge=0, le=1)
    target_metric: str | None = None
    target_metric_threshold: float | None = Field(default=None, ge=0, le=1)
