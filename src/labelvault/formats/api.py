"""Endpoints for dataset export/import and CVAT backups, as cvat-sdk and cvat-cli call them."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.access.deps import (
    project_of,
    require_task_manager,
    visible_job,
    visible_project,
    visible_task,
)
from labelvault.accounts.auth import current_user
from labelvault.accounts.models import User
from labelvault.background import service as background
from labelvault.background.models import Request as BgRequest
from labelvault.config import Settings
from labelvault.db.base import utcnow
from labelvault.errors import Invalid, LabelVaultError, NotFound
from labelvault.http import db_session, parse_bool
from labelvault.media.uploads import UploadArea, safe_relative, upload_kind
from labelvault.projects.models import Project
from labelvault.tasks.models import Job, Task

from . import jobs as _jobs  # noqa: F401  (registers the request handlers)
from .registry import FORMATS, list_formats

router = APIRouter(tags=["formats"])

# Small work runs inside the request, so the SDK's first poll already sees "finished"
# and it never sleeps; bigger work goes to the queue.
INLINE_FRAMES = 300
INLINE_BYTES = 16 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. ]+")


@router.get("/api/server/annotation/formats")
def annotation_formats() -> dict[str, list[dict[str, Any]]]:
    return list_formats()


def _settings(request: Request) -> Settings:
    return request.app.state.settings


def download_name(*parts: str) -> str:
    """A file name cvat-cli accepts: [A-Za-z0-9_-. ], no leading dot, ≤254 characters."""
    stem = _UNSAFE.sub("_", "_".join(p for p in parts if p)).strip(" ._") or "export"
    return f"{stem[:200]}.zip"


def _accepted(rq_id: str) -> Response:
    return Response(json.dumps({"rq_id": rq_id}), status_code=202, media_type="application/json")


async def _run(request: Request, rq_id: str, inline: bool) -> Response:
    app = request.app
    if inline:
        await run_in_threadpool(background.execute, app.state.db, app.state.settings, rq_id)
    else:
        app.state.queue.enqueue(rq_id)
    return _accepted(rq_id)


def _check_location(request: Request) -> None:
    location = request.query_params.get("location") or "local"
    if location != "local":
        raise Invalid("only location=local is supported; download the file instead")


# ---- export ---------------------------------------------------------------------------------


def _export_format(request: Request) -> str:
    fmt = request.query_params.get("format") or ""
    entry = FORMATS.get(fmt)
    if entry is None or entry.exporter is None:
        names = ", ".join(f for f, e in FORMATS.items() if e.exporter)
        raise Invalid(f"unknown export format '{fmt}'; use one of: {names}")
    return fmt


async def _start_export(
    request: Request,
    session: Session,
    user: User,
    *,
    target: str,
    ids: dict[str, int | None],
    name: str,
    frames: int,
    backup: bool,
) -> Response:
    _check_location(request)
    if backup:
        operation, fmt, save_images = "export:backup", None, True
        filename = download_name(target, str(ids[f"{target}_id"]), name, "backup")
    else:
        fmt = _export_format(request)
        save_images = parse_bool(request.query_params.get("save_images"), False)
        operation = "export:dataset" if save_images else "export:annotations"
        kind = "dataset" if save_images else "annotations"
        filename = download_name(
            target, str(ids[f"{target}_id"]), name, kind, fmt.lower().replace(" ", "_")
        )
    session.commit()
    rq_id = background.create(
        request.app.state.db,
        operation=operation,
        target=target,
        owner_id=user.id,
        params={"format": fmt, "save_images": save_images, "filename": filename},
        format=fmt,
        **ids,
    )
    return await _run(request, rq_id, frames <= INLINE_FRAMES)


def _project_frames(session: Session, project: Project) -> int:
    from sqlalchemy import func, select

    total = session.scalar(select(func.sum(Task.size)).where(Task.project_id == project.id))
    return int(total or 0)


@router.post("/api/tasks/{task_id}/dataset/export")
async def export_task_dataset(
    task_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    task = visible_task(session, user, task_id)
    if task.data_state != "ready":
        raise Invalid("this task has no data yet, so there is nothing to export")
    return await _start_export(
        request,
        session,
        user,
        target="task",
        ids={"task_id": task.id},
        name=task.name,
        frames=task.size,
        backup=False,
    )


@router.post("/api/jobs/{job_id}/dataset/export")
async def export_job_dataset(
    job_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    job = visible_job(session, user, job_id)
    return await _start_export(
        request,
        session,
        user,
        target="job",
        ids={"job_id": job.id, "task_id": job.task_id},
        name="",
        frames=job.stop_frame - job.start_frame + 1,
        backup=False,
    )


@router.post("/api/projects/{project_id}/dataset/export")
async def export_project_dataset(
    project_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    project = visible_project(session, user, project_id)
    return await _start_export(
        request,
        session,
        user,
        target="project",
        ids={"project_id": project.id},
        name=project.name,
        frames=_project_frames(session, project),
        backup=False,
    )


@router.post("/api/tasks/{task_id}/backup/export")
async def export_task_backup(
    task_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    task = visible_task(session, user, task_id)
    require_task_manager(session, user, task)
    if task.data_state != "ready":
        raise Invalid("this task has no data yet, so it cannot be backed up")
    return await _start_export(
        request,
        session,
        user,
        target="task",
        ids={"task_id": task.id},
        name=task.name,
        frames=task.size,
        backup=True,
    )


@router.post("/api/projects/{project_id}/backup/export")
async def export_project_backup(
    project_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    project = visible_project(session, user, project_id)
    permissions.require(
        permissions.manages_project(user, project),
        "Only the project's owner or assignee may back it up.",
    )
    return await _start_export(
        request,
        session,
        user,
        target="project",
        ids={"project_id": project.id},
        name=project.name,
        frames=_project_frames(session, project),
        backup=True,
    )


def _download(session: Session, user: User, rq_id: str | None, where: dict[str, Any]) -> Response:
    if not rq_id:
        raise Invalid("rq_id is required: use the result_url of the export request")
    row = session.get(BgRequest, rq_id)
    if (
        row is None
        or (not user.is_admin and row.owner_id != user.id)
        or not row.operation.startswith("export:")
        or any(getattr(row, k) != v for k, v in where.items())
    ):
        raise NotFound.of("Export")
    if row.status != "finished":
        raise Invalid(f"the export is {row.status}, not finished; poll /api/requests/{rq_id}")
    path = Path(row.result_path or "")
    expired = row.finished_date is not None and utcnow() - _aware(row.finished_date) > (
        background.RESULT_TTL
    )
    if expired or not path.is_file():
        raise LabelVaultError("the export has expired; export again", 410)
    return FileResponse(
        path,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{path.name}"'},
    )


def _aware(value: Any) -> Any:
    from datetime import UTC

    return value if value.tzinfo else value.replace(tzinfo=UTC)


@router.get("/api/tasks/{task_id}/dataset/download")
def download_task_dataset(
    task_id: int,
    rq_id: str | None = None,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    visible_task(session, user, task_id)
    return _download(session, user, rq_id, {"task_id": task_id, "job_id": None})


@router.get("/api/jobs/{job_id}/dataset/download")
def download_job_dataset(
    job_id: int,
    rq_id: str | None = None,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    visible_job(session, user, job_id)
    return _download(session, user, rq_id, {"job_id": job_id})


@router.get("/api/projects/{project_id}/dataset/download")
def download_project_dataset(
    project_id: int,
    rq_id: str | None = None,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    visible_project(session, user, project_id)
    return _download(session, user, rq_id, {"project_id": project_id})


@router.get("/api/tasks/{task_id}/backup/download")
def download_task_backup(
    task_id: int,
    rq_id: str | None = None,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    visible_task(session, user, task_id)
    return _download(session, user, rq_id, {"task_id": task_id, "operation": "export:backup"})


@router.get("/api/projects/{project_id}/backup/download")
def download_project_backup(
    project_id: int,
    rq_id: str | None = None,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    visible_project(session, user, project_id)
    return _download(session, user, rq_id, {"project_id": project_id, "operation": "export:backup"})


# ---- uploads (import and restore) -------------------------------------------------------


def _hold(settings: Settings, source: Path) -> Path:
    """Move a finished upload into a folder of its own that the request will delete."""
    folder = settings.uploads_dir / f"request-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    target = folder / source.name
    shutil.move(str(source), target)
    return target


async def _receive(
    request: Request,
    area: UploadArea,
    chunk_base: str,
    field: str,
) -> Response | Path:
    """Handle one request of the header-multiplexed upload protocol.

    Returns a response for Upload-Start and TUS create, or the received file's path once
    the upload is complete (Upload-Finish, or a plain multipart upload).
    """
    settings = _settings(request)
    kind = upload_kind(request)
    if kind == "start":
        area.reset()
        return Response(status_code=202)
    if kind == "tus":
        return area.tus_create(request, chunk_base, settings.max_upload_bytes)
    if kind == "finish":
        name = request.query_params.get("filename")
        if not name:
            files = area.files()
            if len(files) != 1:
                raise Invalid("filename is required: the Upload-Filename of the TUS upload")
            name = files[0].name
        path = _hold(settings, area.take(name))
        area.discard()
        return path
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise Invalid(
            f"send the file as multipart '{field}', or upload it with Upload-Start/TUS/"
            "Upload-Finish"
        )
    form = await request.form()
    part = form.get(field)
    if part is None or not hasattr(part, "filename"):
        raise Invalid(f"the multipart body has no file field '{field}'")
    folder = settings.uploads_dir / f"request-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    target = folder / safe_relative(part.filename or field)  # type: ignore[union-attr]
    with target.open("wb") as out:
        while chunk := await part.read(1 << 20):  # type: ignore[union-attr]
            out.write(chunk)
    return target


def _import_format(request: Request) -> str:
    fmt = request.query_params.get("format") or ""
    entry = FORMATS.get(fmt)
    if entry is None or entry.importer is None:
        names = ", ".join(f for f, e in FORMATS.items() if e.importer)
        raise Invalid(f"unknown import format '{fmt}'; use one of: {names}")
    return fmt


def _import_params(request: Request, path: Path, fmt: str) -> dict[str, Any]:
    query = request.query_params
    return {
        "format": fmt,
        "path": str(path),
        "mode": query.get("import_mode") or "replace",
        "create_labels": parse_bool(query.get("create_labels"), False),
        "conv_mask_to_poly": parse_bool(query.get("conv_mask_to_poly"), False),
    }


def _tus_area(settings: Settings, key: str) -> UploadArea:
    return UploadArea(settings.uploads_dir, key)


async def _import(
    request: Request,
    session: Session,
    user: User,
    *,
    area_key: str,
    chunk_base: str,
    field: str,
    operation: str,
    target: str,
    ids: dict[str, int | None],
) -> Response:
    kind = upload_kind(request)
    fmt = _import_format(request) if kind in ("finish", "plain") else ""
    result = await _receive(request, _tus_area(_settings(request), area_key), chunk_base, field)
    if isinstance(result, Response):
        return result
    session.commit()
    rq_id = background.create(
        request.app.state.db,
        operation=operation,
        target=target,
        owner_id=user.id,
        params=_import_params(request, result, fmt),
        format=fmt,
        **ids,
    )
    return await _run(request, rq_id, result.stat().st_size <= INLINE_BYTES)


def _writable_job(session: Session, user: User, job_id: int) -> tuple[Job, Task]:
    job = visible_job(session, user, job_id)
    task = session.get(Task, job.task_id)
    assert task is not None
    permissions.require(
        job.assignee_id == user.id
        or permissions.manages_task(user, task, project_of(session, task)),
        "Only the job's assignee or the task's owner/assignee may import annotations.",
    )
    return job, task


def _writable_task(session: Session, user: User, task_id: int) -> Task:
    task = visible_task(session, user, task_id)
    require_task_manager(session, user, task)
    return task


def _writable_project(session: Session, user: User, project_id: int) -> Project:
    project = visible_project(session, user, project_id)
    permissions.require(
        permissions.manages_project(user, project),
        "Only the project's owner or assignee may import into it.",
    )
    return project


@router.post("/api/tasks/{task_id}/annotations")
async def import_task_annotations(
    task_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    task = _writable_task(session, user, task_id)
    if upload_kind(request) in ("finish", "plain") and task.data_state != "ready":
        raise Invalid("this task has no data yet; add images before annotations")
    return await _import(
        request,
        session,
        user,
        area_key=f"task-{task.id}-annotations",
        chunk_base=f"/api/tasks/{task.id}/annotations",
        field="annotation_file",
        operation="import:annotations",
        target="task",
        ids={"task_id": task.id},
    )


@router.post("/api/jobs/{job_id}/annotations")
async def import_job_annotations(
    job_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    job, task = _writable_job(session, user, job_id)
    return await _import(
        request,
        session,
        user,
        area_key=f"job-{job.id}-annotations",
        chunk_base=f"/api/jobs/{job.id}/annotations",
        field="annotation_file",
        operation="import:annotations",
        target="job",
        ids={"job_id": job.id, "task_id": task.id},
    )


@router.post("/api/projects/{project_id}/dataset")
async def import_project_dataset(
    project_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    project = _writable_project(session, user, project_id)
    return await _import(
        request,
        session,
        user,
        area_key=f"project-{project.id}-dataset",
        chunk_base=f"/api/projects/{project.id}/dataset",
        field="dataset_file",
        operation="import:dataset",
        target="project",
        ids={"project_id": project.id},
    )


async def _restore(request: Request, session: Session, user: User, target: str) -> Response:
    permissions.require_creator(user)
    settings = _settings(request)
    area = _tus_area(settings, f"user-{user.id}-{target}-backup")
    result = await _receive(request, area, f"/api/{target}s/backup", f"{target}_file")
    if isinstance(result, Response):
        return result
    session.commit()
    rq_id = background.create(
        request.app.state.db,
        operation="import:backup",
        target=target,
        owner_id=user.id,
        params={"path": str(result), "target": target},
    )
    return await _run(request, rq_id, result.stat().st_size <= INLINE_BYTES)


@router.post("/api/tasks/backup")
async def restore_task_backup(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> Response:
    return await _restore(request, session, user, "task")


@router.post("/api/projects/backup")
async def restore_project_backup(
    request: Request, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> Response:
    return await _restore(request, session, user, "project")


# ---- TUS chunks: PATCH/HEAD at the Location the create step returned --------------------


def _area_for(
    session: Session, user: User, settings: Settings, scope: str, ident: str
) -> UploadArea:
    if scope == "tasks" and ident == "backup":
        return _tus_area(settings, f"user-{user.id}-task-backup")
    if scope == "projects" and ident == "backup":
        return _tus_area(settings, f"user-{user.id}-project-backup")
    try:
        number = int(ident)
    except ValueError as exc:
        raise NotFound.of("Upload") from exc
    if scope == "tasks":
        task = _writable_task(session, user, number)
        return _tus_area(settings, f"task-{task.id}-annotations")
    if scope == "jobs":
        job, _task = _writable_job(session, user, number)
        return _tus_area(settings, f"job-{job.id}-annotations")
    project = _writable_project(session, user, number)
    return _tus_area(settings, f"project-{project.id}-dataset")


_CHUNK_ROUTES = (
    "/api/tasks/{ident}/annotations/{file_id}",
    "/api/jobs/{ident}/annotations/{file_id}",
    "/api/projects/{ident}/dataset/{file_id}",
)


def _scope_of(request: Request) -> str:
    return request.url.path.split("/")[2]


async def tus_patch(
    ident: str,
    file_id: str,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    area = _area_for(session, user, _settings(request), _scope_of(request), ident)
    session.commit()
    return await area.tus_patch(request, file_id)


def tus_head(
    ident: str,
    file_id: str,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    area = _area_for(session, user, _settings(request), _scope_of(request), ident)
    return area.tus_offset(file_id)


for _path in _CHUNK_ROUTES:
    router.add_api_route(_path, tus_patch, methods=["PATCH"])
    router.add_api_route(_path, tus_head, methods=["HEAD"])


async def backup_tus_patch(
    file_id: str,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    area = _area_for(session, user, _settings(request), _scope_of(request), "backup")
    return await area.tus_patch(request, file_id)


def backup_tus_head(
    file_id: str,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    area = _area_for(session, user, _settings(request), _scope_of(request), "backup")
    return area.tus_offset(file_id)


for _path in ("/api/tasks/backup/{file_id}", "/api/projects/backup/{file_id}"):
    router.add_api_route(_path, backup_tus_patch, methods=["PATCH"])
    router.add_api_route(_path, backup_tus_head, methods=["HEAD"])
