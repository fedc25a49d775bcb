"""The OpenAPI document: FastAPI's schema plus the shapes of replies built by hand.

Endpoints that assemble JSON themselves (for speed, or because one URL serves several
request kinds) still document their replies here, so generated clients and cvat-sdk's own
models find every field they require.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Generic, TypeVar

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, TypeAdapter

from labelvault.accounts.schemas import BasicUser, UserRead
from labelvault.background.schemas import RequestRead, RqId
from labelvault.projects.schemas import LabelRead, ProjectRead
from labelvault.tasks.schemas import JobRead, TaskRead


class About(BaseModel):
    name: str
    description: str
    version: str
    logo_url: str
    subtitle: str


class DatasetFormat(BaseModel):
    name: str
    ext: str | None
    version: str
    enabled: bool
    dimension: str


class DatasetFormats(BaseModel):
    importers: list[DatasetFormat]
    exporters: list[DatasetFormat]


class FrameMeta(BaseModel):
    name: str
    related_files: int
    width: int
    height: int
    has_related_context: bool


class DataMetaRead(BaseModel):
    chunks_updated_date: datetime
    frames: list[FrameMeta] | None
    deleted_frames: list[int]
    chunk_size: int | None
    size: int
    image_quality: int
    start_frame: int
    stop_frame: int
    frame_filter: str
    included_frames: list[int] | None
    storage: str
    cloud_storage_id: int | None


class OtherUser(BasicUser):
    """Another user as a non-admin sees them: no e-mail, role or dates."""

    groups: list[str]
    is_active: bool | None = None


# Admins and the user themself get UserRead; anyone else's record is an OtherUser.
UserSeen = UserRead | OtherUser

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    count: int
    next: str | None
    previous: str | None
    results: list[T]


# Replies of endpoints that build their JSON by hand (for speed or because they are
# header-multiplexed); documented here so generated clients (and cvat-sdk's models) match.
_REPLIES: dict[tuple[str, str], Any] = {
    ("get", "/api/server/about"): About,
    ("get", "/api/server/annotation/formats"): DatasetFormats,
    ("get", "/api/users"): Page[UserSeen],
    ("get", "/api/users/{user_id}"): UserSeen,
    ("get", "/api/projects"): Page[ProjectRead],
    ("get", "/api/tasks"): Page[TaskRead],
    ("get", "/api/jobs"): Page[JobRead],
    ("get", "/api/labels"): Page[LabelRead],
    ("get", "/api/requests"): Page[RequestRead],
    ("get", "/api/requests/{rq_id}"): RequestRead,
    ("get", "/api/tasks/{task_id}/data/meta"): DataMetaRead,
    ("get", "/api/jobs/{job_id}/data/meta"): DataMetaRead,
    ("post", "/api/tasks/{task_id}/data"): RqId,
    ("post", "/api/tasks/{task_id}/dataset/export"): RqId,
    ("post", "/api/jobs/{job_id}/dataset/export"): RqId,
    ("post", "/api/projects/{project_id}/dataset/export"): RqId,
    ("post", "/api/tasks/{task_id}/backup/export"): RqId,
    ("post", "/api/projects/{project_id}/backup/export"): RqId,
    ("post", "/api/projects/{project_id}/dataset"): RqId,
    ("post", "/api/tasks/backup"): RqId,
    ("post", "/api/projects/backup"): RqId,
    ("post", "/api/tasks/{task_id}/annotations"): RqId,
    ("post", "/api/jobs/{job_id}/annotations"): RqId,
}


def _hoist_defs(node: Any, components: dict[str, Any]) -> None:
    """Move inline `$defs` (from model_json_schema()) into components and fix their refs."""
    if isinstance(node, dict):
        for name, sub in node.pop("$defs", {}).items():
            components.setdefault(name, sub)
            _hoist_defs(sub, components)
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            node["$ref"] = "#/components/schemas/" + ref.removeprefix("#/$defs/")
        for value in node.values():
            _hoist_defs(value, components)
    elif isinstance(node, list):
        for value in node:
            _hoist_defs(value, components)


# What any operation may answer besides its own replies, all as {"detail": ...} (the one
# error handler in app.py): 400 for bad input (never FastAPI's 422), 401/403/404 from the
# access rules, 408/413 from the body limits, 409/412 from conflicts and stale saves, 502
# from a storage that failed, 507 when the disk is full.
ERRORS = {
    "400": "Bad input: `detail` says what to fix",
    "401": "Not logged in (no or bad credentials)",
    "403": "Logged in, but not allowed",
    "404": "Not found, or not visible to this user",
    "408": "The request body stalled",
    "409": "Conflicts with the current state",
    "412": "Saved elsewhere since it was read (If-Match)",
    "413": "The request body is larger than the server accepts",
    "502": "A storage or remote service failed; retry later",
    "507": "The disk is full; nothing was saved",
}
ERROR_SCHEMA = {
    "type": "object",
    "properties": {"detail": {}, "errors": {"type": "array", "items": {"type": "string"}}},
    "required": ["detail"],
}


def _document_errors(schema: dict[str, Any]) -> None:
    schema["components"]["schemas"]["Error"] = ERROR_SCHEMA
    ref = {"$ref": "#/components/schemas/Error"}
    for item in schema["paths"].values():
        for method, operation in item.items():
            if method == "parameters" or not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            responses.pop("422", None)
            for code, text in ERRORS.items():
                responses.setdefault(
                    code, {"description": text, "content": {"application/json": {"schema": ref}}}
                )


def complete_openapi(app: FastAPI) -> dict[str, Any]:
    """FastAPI's schema plus the shapes of hand-built replies, with every $ref resolvable."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    _hoist_defs(schema, components)
    template = "#/components/schemas/{model}"
    for (method, path), model in _REPLIES.items():
        operation = schema["paths"].get(path, {}).get(method)
        if operation is None:
            continue
        body = TypeAdapter(model).json_schema(ref_template=template, mode="serialization")
        for name, sub in body.pop("$defs", {}).items():
            components.setdefault(name, sub)
        title = body.get("title") or getattr(model, "__name__", "UserSeen")
        if title.startswith("Page["):
            title = "Paginated" + title.removeprefix("Page[").removesuffix("]") + "List"
        title = re.sub(r"[^A-Za-z0-9._-]", "", title)  # component names must be [A-Za-z0-9._-]
        components.setdefault(title, body)
        responses = operation.setdefault("responses", {})
        code = next((c for c in responses if c.startswith("2")), "200")
        content = responses.setdefault(code, {"description": "OK"}).setdefault("content", {})
        content["application/json"] = {"schema": {"$ref": template.format(model=title)}}
    _document_errors(schema)
    app.openapi_schema = schema
    return schema
