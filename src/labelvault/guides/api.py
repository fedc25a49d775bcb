"""CVAT's /api/guides (markdown per project or task) and /api/assets (the guide's images)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.datastructures import UploadFile

from labelvault.access.deps import (
    CurrentUser,
    DbSession,
    require_project_manager,
    require_task_manager,
    visible_project,
    visible_task,
)
from labelvault.accounts.models import User
from labelvault.accounts.replies import basic_user
from labelvault.db.base import utcnow
from labelvault.errors import Conflict, Invalid, NotFound

from .models import Guide, GuideAsset

router = APIRouter()
# CVAT's settings: ASSET_MAX_SIZE_MB, ASSET_MAX_COUNT_PER_GUIDE, ASSET_SUPPORTED_TYPES.
MAX_BYTES = 10 * 1024 * 1024
MAX_COUNT = 30
# No SVG: served from this origin, one could run script in the viewer's session.
IMAGE_TYPES = {"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp"}


class GuideRead(BaseModel):
    id: int
    task_id: int | None
    project_id: int | None
    created_date: Any
    updated_date: Any
    markdown: str


class GuideWrite(BaseModel):
    task_id: int | None = None
    project_id: int | None = None
    markdown: str = ""


class GuidePatch(BaseModel):
    task_id: int | None = None
    project_id: int | None = None
    markdown: str | None = None


def guide_json(guide: Guide) -> dict[str, Any]:
    return {
        "id": guide.id,
        "task_id": guide.task_id,
        "project_id": guide.project_id,
        "created_date": guide.created_date,
        "updated_date": guide.updated_date,
        "markdown": guide.markdown,
    }


def _require(session: Session, user: User, guide: Guide, manage: bool) -> None:
    """A guide is read by whoever sees its task or project, and changed by who manages it
    (404 for one not seen, as for the task or project itself)."""
    if guide.task_id is not None:
        task = visible_task(session, user, guide.task_id)
        if manage:
            require_task_manager(session, user, task)
    else:
        assert guide.project_id is not None
        project = visible_project(session, user, guide.project_id)
        if manage:
            require_project_manager(user, project)


def _guide(session: Session, user: User, guide_id: int, manage: bool) -> Guide:
    guide = session.get(Guide, guide_id)
    if guide is None:
        raise NotFound(f"annotation guide {guide_id} does not exist")
    _require(session, user, guide, manage)
    return guide


def _attach(session: Session, user: User, guide: Guide, task_id: Any, project_id: Any) -> None:
    if (task_id is None) == (project_id is None):
        raise Invalid({"non_field_errors": ["Exactly one of task_id or project_id is required"]})
    guide.task_id, guide.project_id = task_id, project_id
    # Permission first: whether a task one cannot see has a guide is not told.
    _require(session, user, guide, manage=True)
    taken = select(Guide.id).where(
        Guide.task_id == task_id if task_id is not None else Guide.project_id == project_id
    )
    with session.no_autoflush:  # the moved guide is not written before the check
        other = session.scalar(taken.where(Guide.id != guide.id) if guide.id else taken)
    if other is not None:
        target = f"task {task_id}" if task_id is not None else f"project {project_id}"
        raise Conflict(f"{target} already has an annotation guide ({other}); change that one")


@router.post("/api/guides", status_code=201, response_model=GuideRead, tags=["guides"])
def create_guide(body: GuideWrite, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    guide = Guide(markdown=body.markdown, created_date=utcnow(), updated_date=utcnow())
    _attach(session, user, guide, body.task_id, body.project_id)
    session.add(guide)
    session.flush()
    return guide_json(guide)


@router.get("/api/guides/{guide_id}", response_model=GuideRead, tags=["guides"])
def get_guide(guide_id: int, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    return guide_json(_guide(session, user, guide_id, manage=False))


@router.patch("/api/guides/{guide_id}", response_model=GuideRead, tags=["guides"])
def update_guide(
    guide_id: int, body: GuidePatch, user: CurrentUser, session: DbSession
) -> dict[str, Any]:
    guide = _guide(session, user, guide_id, manage=True)
    fields = body.model_fields_set
    if "task_id" in fields or "project_id" in fields:
        task_id = body.task_id if "task_id" in fields else guide.task_id
        project_id = body.project_id if "project_id" in fields else guide.project_id
        if "task_id" in fields and body.task_id is not None and "project_id" not in fields:
            project_id = None  # moving the guide to a task
        if "project_id" in fields and body.project_id is not None and "task_id" not in fields:
            task_id = None
        _attach(session, user, guide, task_id, project_id)
    if body.markdown is not None:
        guide.markdown = body.markdown
    guide.updated_date = utcnow()
    session.flush()
    return guide_json(guide)


@router.delete("/api/guides/{guide_id}", status_code=204, tags=["guides"])
def delete_guide(guide_id: int, user: CurrentUser, session: DbSession) -> Response:
    session.delete(_guide(session, user, guide_id, manage=True))  # its assets cascade
    return Response(status_code=204)


# ---- assets --------------------------------------------------------------------------------


class AssetRead(BaseModel):
    uuid: str
    filename: str
    created_date: Any
    owner: dict[str, Any] | None
    guide_id: int


@router.post("/api/assets", status_code=201, response_model=AssetRead, tags=["assets"])
async def create_asset(request: Request, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("file")
    raw_guide = form.get("guide_id")
    if not isinstance(upload, UploadFile):
        raise Invalid({"file": ["Send the image as the multipart field 'file'"]})
    if not isinstance(raw_guide, str) or not raw_guide.strip().isdecimal():
        raise Invalid({"guide_id": ["Send the guide's id as the multipart field 'guide_id'"]})
    guide = _guide(session, user, int(raw_guide), manage=True)
    content_type = (upload.content_type or "").split(";")[0].strip().lower()
    if content_type not in IMAGE_TYPES:
        raise Invalid(
            {
                "file": [
                    f"'{content_type or 'unknown'}' is not supported; send an image "
                    f"({', '.join(sorted(IMAGE_TYPES))})"
                ]
            }
        )
    data = await upload.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise Invalid({"file": [f"An asset may be at most {MAX_BYTES // (1024 * 1024)} MB"]})
    count = session.scalar(
        select(func.count()).select_from(GuideAsset).where(GuideAsset.guide_id == guide.id)
    )
    if (count or 0) >= MAX_COUNT:
        raise Invalid({"guide_id": [f"A guide may have at most {MAX_COUNT} assets"]})
    filename = (upload.filename or "asset").replace("\\", "/").rsplit("/", 1)[-1][:1024]
    asset = GuideAsset(
        uuid=str(uuid.uuid4()),
        guide_id=guide.id,
        filename=filename or "asset",
        content_type=content_type,
        content=data,
        owner_id=user.id,
        created_date=utcnow(),
    )
    session.add(asset)
    guide.updated_date = utcnow()
    session.flush()
    return {
        "uuid": asset.uuid,
        "filename": asset.filename,
        "created_date": asset.created_date,
        "owner": basic_user(request, user),
        "guide_id": guide.id,
    }


def _asset(session: Session, user: User, asset_uuid: str, manage: bool) -> GuideAsset:
    asset = session.get(GuideAsset, asset_uuid)
    if asset is None:
        raise NotFound(f"asset {asset_uuid} does not exist")
    _guide(session, user, asset.guide_id, manage)
    return asset


@router.get("/api/assets/{asset_uuid}", tags=["assets"])
def get_asset(asset_uuid: str, user: CurrentUser, session: DbSession) -> Response:
    asset = _asset(session, user, asset_uuid, manage=False)
    # RFC 5987: any file name, not only latin-1 ones, fits the header.
    disposition = f"inline; filename*=UTF-8''{quote(asset.filename, safe='')}"
    return Response(
        asset.content,
        media_type=asset.content_type,
        headers={"Content-Disposition": disposition, "X-Content-Type-Options": "nosniff"},
    )


@router.delete("/api/assets/{asset_uuid}", status_code=204, tags=["assets"])
def delete_asset(asset_uuid: str, user: CurrentUser, session: DbSession) -> Response:
    session.delete(_asset(session, user, asset_uuid, manage=True))
    return Response(status_code=204)
