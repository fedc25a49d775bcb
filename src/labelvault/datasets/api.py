"""Endpoints for dataset export/import and CVAT backups, as cvat-sdk and cvat-cli call them."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.access.deps import (
    CurrentUser,
    DbSession,
    EditableJob,
    ManagedProject,
    ManagedTask,
    VisibleJob,
    require_job_editor,
    require_project_manager,
    require_task_manager,
    visible_job,
    visible_project,
    visible_task,
)
from labelvault.accounts.models import User
from labelvault.errors import Invalid, NotFound
from labelvault.formats.registry import list_formats
from labelvault.http import settings_of
from labelvault.media.uploads import UploadArea, upload_kind

from . import handlers as _handlers  # noqa: F401  (registers the request handlers)
from .transfer import download, project_frames, start_export, start_import, start_restore, tus_area

router = APIRouter(tags=["formats"])


@router.get("/api/server/annotation/formats")
def annotation_formats() -> dict[str, list[dict[str, Any]]]:
    return list_formats()


# ---- export ---------------------------------------------------------------------------------


@router.post("/api/tasks/{task_id}/dataset/export")
async def export_task_dataset(
    task: ManagedTask, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    if task.data_state != "ready":
        raise Invalid("this task has no data yet, so there is nothing to export")
    return await start_export(
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
    job: VisibleJob, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    return await start_export(
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
    project: ManagedProject, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    return await start_export(
        request,
        session,
        user,
        target="project",
        ids={"project_id": project.id},
        name=project.name,
        frames=project_frames(session, project),
        backup=False,
    )


@router.post("/api/tasks/{task_id}/backup/export")
async def export_task_backup(
    task: ManagedTask, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    if task.data_state != "ready":
        raise Invalid("this task has no data yet, so it cannot be backed up")
    return await start_export(
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
    project: ManagedProject, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    return await start_export(
        request,
        session,
        user,
        target="project",
        ids={"project_id": project.id},
        name=project.name,
        frames=project_frames(session, project),
        backup=True,
    )


@router.get("/api/tasks/{task_id}/dataset/download")
def download_task_dataset(
    task: ManagedTask, user: CurrentUser, session: DbSession, rq_id: str | None = None
) -> Response:
    return download(session, user, rq_id, {"task_id": task.id, "job_id": None})


@router.get("/api/jobs/{job_id}/dataset/download")
def download_job_dataset(
    job: VisibleJob, user: CurrentUser, session: DbSession, rq_id: str | None = None
) -> Response:
    return download(session, user, rq_id, {"job_id": job.id})


@router.get("/api/projects/{project_id}/dataset/download")
def download_project_dataset(
    project: ManagedProject, user: CurrentUser, session: DbSession, rq_id: str | None = None
) -> Response:
    return download(session, user, rq_id, {"project_id": project.id})


@router.get("/api/tasks/{task_id}/backup/download")
def download_task_backup(
    task: ManagedTask, user: CurrentUser, session: DbSession, rq_id: str | None = None
) -> Response:
    return download(session, user, rq_id, {"task_id": task.id, "operation": "export:backup"})


@router.get("/api/projects/{project_id}/backup/download")
def download_project_backup(
    project: ManagedProject, user: CurrentUser, session: DbSession, rq_id: str | None = None
) -> Response:
    return download(session, user, rq_id, {"project_id": project.id, "operation": "export:backup"})


# ---- import and restore ---------------------------------------------------------------------


@router.post("/api/tasks/{task_id}/annotations")
async def import_task_annotations(
    task: ManagedTask, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    if upload_kind(request) in ("finish", "plain") and task.data_state != "ready":
        raise Invalid("this task has no data yet; add images before annotations")
    return await start_import(
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
    job: EditableJob, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    return await start_import(
        request,
        session,
        user,
        area_key=f"job-{job.id}-annotations",
        chunk_base=f"/api/jobs/{job.id}/annotations",
        field="annotation_file",
        operation="import:annotations",
        target="job",
        ids={"job_id": job.id, "task_id": job.task_id},
    )


@router.post("/api/projects/{project_id}/dataset")
async def import_project_dataset(
    project: ManagedProject, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    return await start_import(
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


@router.post("/api/tasks/backup")
async def restore_task_backup(request: Request, user: CurrentUser, session: DbSession) -> Response:
    permissions.require_creator(user)
    return await start_restore(request, session, user, "task")


@router.post("/api/projects/backup")
async def restore_project_backup(
    request: Request, user: CurrentUser, session: DbSession
) -> Response:
    permissions.require_creator(user)
    return await start_restore(request, session, user, "project")


# ---- TUS chunks: PATCH/HEAD at the Location the create step returned --------------------


def _area_for(session: Session, user: User, request: Request, ident: str) -> UploadArea:
    """The upload area a chunk belongs to, checked with the same rules as its create step."""
    settings = settings_of(request)
    scope = request.url.path.split("/")[2]
    if ident == "backup" and scope in ("tasks", "projects"):
        return tus_area(settings, f"user-{user.id}-{scope[:-1]}-backup")
    try:
        number = int(ident)
    except ValueError as exc:
        raise NotFound.of("Upload") from exc
    if scope == "tasks":
        task = visible_task(session, user, number)
        require_task_manager(session, user, task)
        return tus_area(settings, f"task-{task.id}-annotations")
    if scope == "jobs":
        job = visible_job(session, user, number)
        require_job_editor(session, user, job)
        return tus_area(settings, f"job-{job.id}-annotations")
    project = visible_project(session, user, number)
    require_project_manager(user, project)
    return tus_area(settings, f"project-{project.id}-dataset")


async def tus_patch(
    ident: str, file_id: str, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    area = _area_for(session, user, request, ident)
    session.commit()
    return await area.tus_patch(request, file_id)


def tus_head(
    ident: str, file_id: str, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    return _area_for(session, user, request, ident).tus_offset(file_id)


for _path in (
    "/api/tasks/{ident}/annotations/{file_id}",
    "/api/jobs/{ident}/annotations/{file_id}",
    "/api/projects/{ident}/dataset/{file_id}",
):
    router.add_api_route(_path, tus_patch, methods=["PATCH"])
    router.add_api_route(_path, tus_head, methods=["HEAD"])


async def backup_tus_patch(
    file_id: str, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    return await _area_for(session, user, request, "backup").tus_patch(request, file_id)


def backup_tus_head(
    file_id: str, request: Request, user: CurrentUser, session: DbSession
) -> Response:
    return _area_for(session, user, request, "backup").tus_offset(file_id)


for _path in ("/api/tasks/backup/{file_id}", "/api/projects/backup/{file_id}"):
    router.add_api_route(_path, backup_tus_patch, methods=["PATCH"])
    router.add_api_route(_path, backup_tus_head, methods=["HEAD"])
