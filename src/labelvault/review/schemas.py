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
