"""Wire shapes of tasks and jobs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from labelvault.projects.schemas import LabelWrite, StorageRef, Summary, UserRef


class TaskWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = None
    project_id: int | None = None
    owner_id: int | None = None
    assignee_id: int | None = None
    bug_tracker: str | None = None
    overlap: int | None = None
    segment_size: int | None = None
    labels: list[LabelWrite] | None = None
    subset: str | None = None
    target_storage: StorageRef | None = None
    source_storage: StorageRef | None = None
    consensus_replicas: int | None = None


class JobsSummary(BaseModel):
    count: int
    completed: int | None
    validation: int | None
    url: str


class TaskRead(BaseModel):
    url: str
    id: int
    name: str
    project_id: int | None
    mode: str
    owner: UserRef | None
    assignee: UserRef | None
    bug_tracker: str
    created_date: datetime
    updated_date: datetime
    overlap: int | None
    segment_size: int
    status: str
    data_chunk_size: int | None
    data_compressed_chunk_type: str | None
    guide_id: int | None
    data_original_chunk_type: str | None
    size: int
    image_quality: int
    data: int | None
    dimension: str
    subset: str
    organization: int | None
    organization_id: int | None
    target_storage: StorageRef | None
    source_storage: StorageRef | None
    jobs: JobsSummary
    labels: Summary
    assignee_updated_date: datetime | None
    validation_mode: str | None
    consensus_enabled: bool
    consensus_replicas: int
    data_cloud_storage_id: int | None
    media_type: str
    initial_replicas: int
    project_name: str | None = None


class JobWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    assignee: int | None = Field(default=None)
    stage: str | None = None
    state: str | None = None


class IssuesSummary(BaseModel):
    url: str
    count: int


class JobRead(BaseModel):
    url: str
    id: int
    task_id: int
    project_id: int | None
    assignee: UserRef | None
    guide_id: int | None
    dimension: str
    bug_tracker: str | None
    status: str
    stage: str
    state: str
    mode: str
    frame_count: int
    start_frame: int
    stop_frame: int
    data_chunk_size: int | None
    data_compressed_chunk_type: str | None
    data_original_chunk_type: str | None
    created_date: datetime
    updated_date: datetime
    issues: IssuesSummary
    labels: Summary
    type: str
    organization: int | None
    target_storage: StorageRef | None
    source_storage: StorageRef | None
    assignee_updated_date: datetime | None
    parent_job_id: int | None
    replicas_count: int
    # Ours, not CVAT's: the version to send back in If-Match when saving annotations.
    annotation_version: int = 0
    task_name: str
    project_name: str | None
    media_type: str
