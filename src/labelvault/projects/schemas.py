"""Wire shapes of projects, labels and attribute specs."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

LABEL_TYPES = (
    "any",
    "rectangle",
    "polygon",
    "polyline",
    "points",
    "ellipse",
    "cuboid",
    "mask",
    "skeleton",
    "tag",
)
INPUT_TYPES = ("checkbox", "radio", "number", "text", "select")


class AttributeWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int | None = None
    name: str
    mutable: bool = False
    input_type: str
    default_value: str | None = None
    values: list[str] = Field(default_factory=list)


class LabelWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    id: int | None = None
    name: str | None = None
    color: str | None = None
    type: str | None = None
    attributes: list[AttributeWrite] = Field(default_factory=list)
    sublabels: list[LabelWrite] = Field(default_factory=list)
    svg: str | None = None
    deleted: bool = False


class AttributeRead(BaseModel):
    id: int
    name: str
    mutable: bool
    input_type: str
    default_value: str
    values: list[str]


class SublabelRead(BaseModel):
    id: int
    name: str
    color: str
    attributes: list[AttributeRead]
    type: str
    has_parent: bool


class LabelRead(BaseModel):
    id: int
    name: str
    color: str
    attributes: list[AttributeRead]
    type: str
    svg: str
    sublabels: list[SublabelRead]
    project_id: int | None
    task_id: int | None
    parent_id: int | None
    has_parent: bool


class StorageRef(BaseModel):
    id: int | None = None
    location: str = "local"
    cloud_storage_id: int | None = None


class ProjectWrite(BaseModel):
    model_config = ConfigDict(extra="ignore")

    name: str | None = Field(None, max_length=256)
    labels: list[LabelWrite] | None = None
    owner_id: int | None = None
    assignee_id: int | None = None
    bug_tracker: str | None = Field(None, max_length=2000)
    target_storage: StorageRef | None = None
    source_storage: StorageRef | None = None


class Summary(BaseModel):
    url: str


class CountSummary(BaseModel):
    count: int
    url: str


class UserRef(BaseModel):
    """An owner or assignee as CVAT's BasicUser."""

    url: str
    id: int
    username: str
    first_name: str
    last_name: str


class ProjectRead(BaseModel):
    url: str
    id: int
    name: str
    labels: Summary
    tasks: CountSummary
    owner: UserRef | None
    assignee: UserRef | None
    guide_id: int | None
    bug_tracker: str
    task_subsets: list[str]
    created_date: datetime
    updated_date: datetime
    status: str
    dimension: str | None
    organization: int | None
    organization_id: int | None
    target_storage: StorageRef | None
    source_storage: StorageRef | None
    assignee_updated_date: datetime | None
    preview: str | None = None
