"""Endpoints of /api/cloudstorages: create, list, get, update, delete, content, status, preview."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.accounts.api import basic_user, users_by_id
from labelvault.accounts.auth import current_user
from labelvault.accounts.models import User
from labelvault.cloudstorages import service
from labelvault.cloudstorages.models import CloudStorage
from labelvault.cloudstorages.schemas import CloudStorageWrite
from labelvault.errors import Conflict, Forbidden, Invalid, NotFound
from labelvault.http import db_session, paginate
from labelvault.tasks.models import Task

router = APIRouter(tags=["cloudstorages"])


async def _write_body(request: Request) -> CloudStorageWrite:
    content_type = request.headers.get("content-type", "")
    data: dict[str, Any] = {}
    if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        form = await request.form()
        for key, value in form.multi_items():
            if hasattr(value, "read"):
                data[key] = (await value.read()).decode("utf-8", "replace")  # type: ignore[union-attr]
            else:
                data[key] = value
    else:
        raw = await request.body()
        if raw.strip():
            try:
                data = json.loads(raw)
            except ValueError as exc:
                raise Invalid("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise Invalid("the request body must be a JSON object")
    try:
        return CloudStorageWrite.model_validate(data)
    except ValidationError as exc:
        raise Invalid(str(exc.errors()[0].get("msg"))) from exc


def _visible(session: Session, user: User, cloud_id: int) -> CloudStorage:
    row = session.get(CloudStorage, cloud_id)
    if row is None or not (user.is_admin or row.owner_id == user.id):
        raise NotFound.of("Cloud storage")
    return row


def _json(request: Request, session: Session, rows: list[CloudStorage]) -> list[dict[str, Any]]:
    users = users_by_id(session, {r.owner_id for r in rows})
    return [service.read_json(r, basic_user(request, users.get(r.owner_id))) for r in rows]


def _check(request: Request, row: CloudStorage) -> None:
    storage = service.storage_of(row, request.app.state.settings)
    state = service.status(storage)
    if state != "AVAILABLE":
        hint = "check the credentials" if state == "FORBIDDEN" else "check the bucket name"
        raise Invalid(f"the cloud storage '{row.resource}' is not reachable ({state}); {hint}")


def _bind(request: Request) -> None:
    service.bind(request.app.state.db, request.app.state.settings)


@router.get("/api/cloudstorages")
def list_cloudstorages(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    query = select(CloudStorage).order_by(CloudStorage.id.desc())
    if not user.is_admin:
        query = query.where(CloudStorage.owner_id == user.id)
    for field in ("provider_type", "resource", "display_name", "credentials_type"):
        value = request.query_params.get(field)
        if value:
            query = query.where(getattr(CloudStorage, field) == value)
    return paginate(request, session, query, lambda rows: _json(request, session, list(rows)))


@router.post("/api/cloudstorages", status_code=201)
async def create_cloudstorage(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    permissions.require_creator(user)
    data = await _write_body(request)
    _bind(request)
    row = CloudStorage(owner_id=user.id, credentials="{}", description="", specific_attributes="")
    try:
        service.apply(session, row, data, request.app.state.settings)
    except service.CloudStorageError as exc:
        raise Invalid(str(exc)) from exc
    if data.owner_id is not None and not user.is_admin:
        row.owner_id = user.id
    _check(request, row)
    return _json(request, session, [row])[0]


@router.get("/api/cloudstorages/{cloud_id}")
def get_cloudstorage(
    cloud_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    return _json(request, session, [_visible(session, user, cloud_id)])[0]


@router.patch("/api/cloudstorages/{cloud_id}")
async def update_cloudstorage(
    cloud_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    row = _visible(session, user, cloud_id)
    data = await _write_body(request)
    if data.owner_id is not None and not user.is_admin:
        raise Forbidden("only an admin can give a cloud storage to another user")
    _bind(request)
    try:
        service.apply(session, row, data, request.app.state.settings)
    except service.CloudStorageError as exc:
        raise Invalid(str(exc)) from exc
    _check(request, row)
    return _json(request, session, [row])[0]


@router.delete("/api/cloudstorages/{cloud_id}", status_code=204)
def delete_cloudstorage(
    cloud_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    row = _visible(session, user, cloud_id)
    used = session.scalar(select(Task.id).where(Task.cloud_storage_id == row.id).limit(1))
    if used is not None:
        # Frames of those tasks are read from the bucket on demand; they would go blank.
        raise Conflict(
            f"task #{used} reads its frames from this cloud storage; delete the task first"
        )
    session.delete(row)
    service.forget(cloud_id)
    return Response(status_code=204)


@router.get("/api/cloudstorages/{cloud_id}/content-v2")
def cloudstorage_content(
    cloud_id: int,
    request: Request,
    prefix: str = "",
    next_token: str | None = None,
    page_size: int = 1000,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    row = _visible(session, user, cloud_id)
    if not 1 <= page_size <= 10_000:
        raise Invalid("page_size must be between 1 and 10000")
    storage = service.storage_of(row, request.app.state.settings)
    try:
        return service.content(storage, prefix, next_token, page_size)
    except (service.CloudStorageError, ValueError) as exc:
        raise Invalid(str(exc)) from exc


@router.get("/api/cloudstorages/{cloud_id}/status")
def cloudstorage_status(
    cloud_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    row = _visible(session, user, cloud_id)
    state = service.status(service.storage_of(row, request.app.state.settings))
    return Response(json.dumps(state), media_type="application/json")


@router.get("/api/cloudstorages/{cloud_id}/actions")
def cloudstorage_actions(
    cloud_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> list[str]:
    _visible(session, user, cloud_id)
    return ["read", "write"]


@router.get("/api/cloudstorages/{cloud_id}/preview")
def cloudstorage_preview(
    cloud_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    row = _visible(session, user, cloud_id)
    settings = request.app.state.settings
    try:
        data = service.preview(service.storage_of(row, settings), settings, row.id)
    except (service.CloudStorageError, ValueError) as exc:
        raise NotFound.of(f"Preview ({exc})") from exc
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})
