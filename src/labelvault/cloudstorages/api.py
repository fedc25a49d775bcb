"""Endpoints of /api/cloudstorages: create, list, get, update, delete, content, status, preview."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault import filters
from labelvault.access import permissions
from labelvault.access.deps import CurrentUser, DbSession
from labelvault.accounts.models import User
from labelvault.accounts.replies import basic_user, users_by_id
from labelvault.cloudstorages import service
from labelvault.cloudstorages.models import CloudStorage
from labelvault.cloudstorages.registry import CloudStorages
from labelvault.cloudstorages.schemas import CloudStorageWrite
from labelvault.errors import Conflict, Forbidden, Invalid
from labelvault.http import paginate
from labelvault.tasks.models import Task

router = APIRouter(tags=["cloudstorages"])


def cloud_storages(request: Request) -> CloudStorages:
    """The app's registry of cloud storage connections (made in app.py's lifespan)."""
    return request.app.state.cloud_storages


Clouds = Annotated[CloudStorages, Depends(cloud_storages)]


def _visible(cloud_id: int, session: DbSession, user: CurrentUser) -> CloudStorage:
    return service.visible(session, user, cloud_id)


VisibleCloudStorage = Annotated[CloudStorage, Depends(_visible)]


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


def _json(request: Request, session: Session, rows: list[CloudStorage]) -> list[dict[str, Any]]:
    users = users_by_id(session, {r.owner_id for r in rows})
    return [service.read_json(r, basic_user(request, users.get(r.owner_id))) for r in rows]


def _check(clouds: CloudStorages, row: CloudStorage) -> None:
    # Built outside the registry: settings that fail here must not stay cached.
    storage = service.build_storage(row, clouds.settings)
    state = service.status(storage)
    if state != "AVAILABLE":
        hint = "check the credentials" if state == "FORBIDDEN" else "check the bucket name"
        raise Invalid(f"the cloud storage '{row.resource}' is not reachable ({state}); {hint}")


# The terms CVAT's CloudStorageViewSet filters on ("name" is the display name).
CLOUD_FILTERS = {
    "id": filters.Field(CloudStorage.id),
    "name": filters.Field(CloudStorage.display_name),
    "resource": filters.Field(CloudStorage.resource),
    "owner": filters.Field(
        select(User.username).where(User.id == CloudStorage.owner_id).scalar_subquery()
    ),
    "provider_type": filters.Field(CloudStorage.provider_type),
    "credentials_type": filters.Field(CloudStorage.credentials_type),
    "description": filters.Field(CloudStorage.description),
}


@router.get("/api/cloudstorages")
def list_cloudstorages(request: Request, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    query = (
        select(CloudStorage).where(service.visible_filter(user)).order_by(CloudStorage.id.desc())
    )
    for field in ("provider_type", "resource", "display_name", "credentials_type"):
        value = request.query_params.get(field)
        if value:
            query = query.where(getattr(CloudStorage, field) == value)
    query = filters.apply(query, request.query_params, CLOUD_FILTERS)
    return paginate(request, session, query, lambda rows: _json(request, session, list(rows)))


def _require_owner(user: User, row: CloudStorage) -> None:
    permissions.require(
        permissions.may_delete(user, row.owner_id, row.organization_id),
        "Only the cloud storage's owner (or the organization's maintainers) may change it.",
    )


@router.post("/api/cloudstorages", status_code=201)
async def create_cloudstorage(
    request: Request, user: CurrentUser, session: DbSession, clouds: Clouds
) -> dict[str, Any]:
    permissions.require_creator(user, "maintainer")
    data = await _write_body(request)
    row = CloudStorage(
        owner_id=user.id,
        credentials="{}",
        description="",
        specific_attributes="",
        organization_id=permissions.creation_org_id(user),
    )
    service.apply(session, row, data, clouds.settings)
    if data.owner_id is not None and not user.is_admin:
        row.owner_id = user.id
    _check(clouds, row)
    # An id SQLite reuses after a delete must not find the old row's connection.
    clouds.forget(row.id)
    return _json(request, session, [row])[0]


@router.get("/api/cloudstorages/{cloud_id}")
def get_cloudstorage(
    request: Request, row: VisibleCloudStorage, session: DbSession
) -> dict[str, Any]:
    return _json(request, session, [row])[0]


@router.patch("/api/cloudstorages/{cloud_id}")
async def update_cloudstorage(
    request: Request,
    row: VisibleCloudStorage,
    user: CurrentUser,
    session: DbSession,
    clouds: Clouds,
) -> dict[str, Any]:
    _require_owner(user, row)
    data = await _write_body(request)
    if data.owner_id is not None and not user.is_admin:
        raise Forbidden("only an admin can give a cloud storage to another user")
    service.apply(session, row, data, clouds.settings)
    _check(clouds, row)
    clouds.forget(row.id)
    return _json(request, session, [row])[0]


@router.delete("/api/cloudstorages/{cloud_id}", status_code=204)
def delete_cloudstorage(
    row: VisibleCloudStorage, user: CurrentUser, session: DbSession, clouds: Clouds
) -> Response:
    _require_owner(user, row)
    used = session.scalar(select(Task.id).where(Task.cloud_storage_id == row.id).limit(1))
    if used is not None:
        # Frames of those tasks are read from the bucket on demand; they would go blank.
        raise Conflict(
            f"task #{used} reads its frames from this cloud storage; delete the task first"
        )
    session.delete(row)
    clouds.forget(row.id)
    return Response(status_code=204)


@router.get("/api/cloudstorages/{cloud_id}/content-v2")
def cloudstorage_content(
    row: VisibleCloudStorage,
    clouds: Clouds,
    prefix: str = "",
    next_token: str | None = None,
    page_size: int = 1000,
) -> dict[str, Any]:
    if not 1 <= page_size <= 10_000:
        raise Invalid("page_size must be between 1 and 10000")
    return service.content(clouds.storage_of(row), prefix, next_token, page_size)


@router.get("/api/cloudstorages/{cloud_id}/status")
def cloudstorage_status(row: VisibleCloudStorage, clouds: Clouds) -> Response:
    state = service.status(clouds.storage_of(row))
    return Response(json.dumps(state), media_type="application/json")


@router.get("/api/cloudstorages/{cloud_id}/actions")
def cloudstorage_actions(row: VisibleCloudStorage) -> list[str]:
    return ["read", "write"]


@router.get("/api/cloudstorages/{cloud_id}/preview")
def cloudstorage_preview(row: VisibleCloudStorage, clouds: Clouds) -> Response:
    data = service.preview(lambda: clouds.storage_of(row), clouds.settings, row.id)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=60"})
