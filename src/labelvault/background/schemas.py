"""Wire shapes of background requests (CVAT's /api/requests) and the replies that start them."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel


class RqId(BaseModel):
    rq_id: str


class RequestOperation(BaseModel):
    type: str
    target: str
    project_id: int | None
    task_id: int | None
    job_id: int | None
    format: str | None
    function_id: int | None
    lightweight: bool | None
    org_id: int | None


class RequestOwner(BaseModel):
    id: int
    username: str


class RequestRead(BaseModel):
    id: str
    status: Literal["queued", "started", "failed", "finished"]
    message: str
    progress: float | None
    created_date: datetime
    started_date: datetime | None
    finished_date: datetime | None
    expiry_date: datetime | None
    owner: RequestOwner | None
    result_url: str | None
    result_id: int | None
    operation: RequestOperation
