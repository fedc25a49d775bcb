"""Endpoints for task data: uploads (multipart, TUS), frames, chunks, previews and meta."""

from __future__ import annotations

import json
from typing import Annotated, Any, Protocol

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session
from starlette.responses import FileResponse

from labelvault.access import permissions
from labelvault.access.deps import (
    CurrentUser,
    DbSession,
    EditableJob,
    ManagedTask,
    VisibleJob,
    VisibleProject,
    VisibleTask,
    assigned_frames,
    is_task_staff,
)
from labelvault.accounts.models import User
from labelvault.background import service as background
from labelvault.db.base import utcnow
from labelvault.errors import Conflict, Forbidden, Invalid, LabelVaultError, NotFound
from labelvault.http import parse_bool
from labelvault.media import frames, sources
from labelvault.media.layout import upload_area
from labelvault.media.meta import meta_json
from labelvault.media.params import DataParams
from labelvault.media.sources import CloudResolver
from labelvault.media.uploads import upload_kind
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Job, Task

router = APIRouter(tags=["data"])

# Small uploads are processed inside the request, so the client's first poll already
# sees "finished" and the CLI never sleeps; big ones go to the queue.
INLINE_FILE_LIMIT = 64
CACHE_CONTROL = "private, max-age=3600"


class CloudAccess(CloudResolver, Protocol):
    """What data endpoints need of the cloud storages: their Storage and who may use them."""

    def may_use(self, session: Session, user: User, cloud_id: int) -> bool: ...


def _clouds(request: Request) -> CloudAccess | None:
    # app.py keeps the cloudstorages registry here; media only knows its shape.
    return getattr(request.app.state, "cloud_storages", None)


Clouds = Annotated[CloudAccess | None, Depends(_clouds)]


async def _json_body(request: Request) -> dict[str, Any]:
    # The SDK sends Content-Type: application/json with an empty body on bodiless POSTs.
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise Invalid("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise Invalid("the request body must be a JSON object")
    return data


@router.get("/api/server/share")
def server_share(request: Request, user: CurrentUser, directory: str = "/") -> list[dict[str, str]]:
    return sources.list_share(request.app.state.settings, directory)


@router.post("/api/tasks/{task_id}/data")
async def upload_data(
    request: Request, task: ManagedTask, user: CurrentUser, session: DbSession, clouds: Clouds
) -> Response:
    if task.data_state == "uploading":
        raise Conflict("this task's data is being created; wait for that request to end")
    settings = request.app.state.settings
    area = upload_area(settings, task.id)
    kind = upload_kind(request)
    # Appending is opt-in (?append=true), so a client re-running a create flow on a task
    # that has data gets the old refusal instead of silently adding frames.
    append = parse_bool(request.query_params.get("append"))
    if task.data_state == "ready" and not append and kind in ("start", "tus", "multiple"):
        raise Invalid(
            "this task already has data; add ?append=true to add frames, or create a new task"
        )
    if kind == "start":
        area.reset()
        return Response(status_code=202)
    if kind == "tus":
        return area.tus_create(request, f"/api/tasks/{task.id}/data", settings.max_upload_bytes)
    try:
        if kind == "multiple":
            form = await request.form()
            for _, value in form.multi_items():
                if hasattr(value, "filename"):
                    await area.save_part(value)  # type: ignore[arg-type]
            return Response(status_code=200)
        if kind == "finish":
            params = await _json_body(request)
        else:
            content_type = request.headers.get("content-type", "")
            if content_type.startswith("multipart/form-data"):
                area.reset()
                form = await request.form()
                params = {}
                for key, value in form.multi_items():
                    if hasattr(value, "filename"):
                        await area.save_part(value)  # type: ignore[arg-type]
                    elif key in params and key in ("server_files", "remote_files"):
                        params[key] = [*params[key], value]
                    elif key in ("server_files", "remote_files") or key.startswith(
                        ("server_files[", "remote_files[")
                    ):
                        base = key.split("[", 1)[0]
                        params[base] = [*params.get(base, []), value]
                    else:
                        params[key] = value
            else:
                params = await _json_body(request)
        if append:
            params["append"] = True
        return _start_creation(request, session, user, task, params, len(area.files()), clouds)
    except LabelVaultError:
        # A rejected upload ends the upload session: nothing half-received stays behind.
        area.discard()
        raise


def _runs_inline(settings: Any, params: DataParams, file_count: int) -> bool:
    """Small jobs run inside the request (the client's first poll sees them finished)."""
    if params.remote_files or params.cloud_storage_id is not None:
        return False
    if file_count + len(params.server_files) > INLINE_FILE_LIMIT:
        return False
    if not params.server_files:
        return True
    # A share folder may hold any number of files: only named local files stay inline.
    root = sources.local_root(sources.share_storage(settings))
    if root is None:
        return False
    try:
        return all((root / sources.clean_rel(p)).is_file() for p in params.server_files)
    except sources.SourceError:
        return True  # fails fast with its message either way


def _start_creation(
    request: Request,
    session: Session,
    user: User,
    task: Task,
    params: dict[str, Any],
    file_count: int,
    clouds: CloudAccess | None,
) -> Response:
    parsed = DataParams.from_request(params)
    if task.data_state == "ready" and not parsed.append:
        raise Invalid(
            "this task already has data; send append=true to add frames to it, or create a new task"
        )
    if parsed.append and task.data_state != "ready":
        raise Invalid("append=true needs a task that already has data")
    if file_count == 0 and not parsed.server_files and not parsed.remote_files:
        raise Invalid(
            "no files were given; upload client_files, or send server_files or remote_files"
        )
    if parsed.cloud_storage_id is not None:
        if clouds is None or not clouds.may_use(session, user, parsed.cloud_storage_id):
            raise Invalid(f"cloud storage #{parsed.cloud_storage_id} not found")
        if parsed.append and task.cloud_storage_id not in (None, parsed.cloud_storage_id):
            raise Invalid("frames of one task come from one cloud storage")
    if not parsed.append:
        task.data_state = "uploading"
    task_id = task.id
    session.commit()
    app = request.app
    rq_id = background.create(
        app.state.db,
        operation="create:task",
        target="task",
        owner_id=user.id,
        params=params,
        task_id=task_id,
    )
    if _runs_inline(app.state.settings, parsed, file_count):
        background.execute(app.state.db, app.state.settings, rq_id)
    else:
        app.state.queue.enqueue(rq_id)
    return Response(json.dumps({"rq_id": rq_id}), status_code=202, media_type="application/json")


@router.head("/api/tasks/{task_id}/data/{file_id}")
def tus_head(file_id: str, request: Request, task: ManagedTask) -> Response:
    return upload_area(request.app.state.settings, task.id).tus_offset(file_id)


@router.patch("/api/tasks/{task_id}/data/{file_id}", response_model=None)
async def tus_patch(
    file_id: str, request: Request, task: ManagedTask, session: DbSession
) -> Response | dict[str, Any]:
    if file_id == "meta":
        return await patch_meta(request, task, session)
    return await upload_area(request.app.state.settings, task.id).tus_patch(request, file_id)


# ---- reading data --------------------------------------------------------------------------


def _send(request: Request, served: frames.Served) -> Response:
    """The file streamed from disk with its ETag, or 304 when the client has this version."""
    headers = {"ETag": served.etag, "Cache-Control": CACHE_CONTROL}
    if served.etag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers=headers)
    path, stat = served.file()
    return FileResponse(path, media_type=served.media_type, headers=headers, stat_result=stat)


def _serve(
    request: Request,
    session: Session,
    task: Task,
    frames_all: list[int] | range,
    data_type: str,
    number: int | None,
    quality: str,
    clouds: CloudResolver | None,
) -> Response:
    served = frames.locate(
        request.app.state.settings,
        session,
        task,
        frames_all,
        data_type,
        number,
        quality,
        clouds,
    )
    return _send(request, served)


def _task_of(session: Session, job: Job) -> Task:
    task = session.get(Task, job.task_id)
    assert task is not None  # a job's task outlives it (ON DELETE CASCADE)
    return task


def _readable_frames(session: Session, user: User, task: Task) -> list[int] | range:
    """All frames for the task's staff; a job's assignee only the frames of its jobs."""
    if is_task_staff(session, user, task):
        return range(task.size)
    return assigned_frames(session, user, task)


@router.get("/api/tasks/{task_id}/data")
def task_data(
    request: Request,
    task: VisibleTask,
    user: CurrentUser,
    session: DbSession,
    clouds: Clouds,
    type: str = "frame",
    number: int | None = None,
    quality: str = "compressed",
) -> Response:
    readable = _readable_frames(session, user, task)
    # Chunks are numbered over the whole task; a job's assignee reads its job's.
    if not isinstance(readable, range) and (
        type == "chunk" or (number is not None and number not in readable)
    ):
        raise Forbidden(
            "only the frames of your jobs can be read; use /api/jobs/{id}/data for them"
        )
    return _serve(request, session, task, range(task.size), type, number, quality, clouds)


@router.get("/api/jobs/{job_id}/data")
def job_data(
    request: Request,
    job: VisibleJob,
    session: DbSession,
    clouds: Clouds,
    type: str = "frame",
    number: int | None = None,
    quality: str = "compressed",
) -> Response:
    task = _task_of(session, job)
    frames_all = task_service.job_frames(job)
    return _serve(request, session, task, frames_all, type, number, quality, clouds)


def _task_preview(
    request: Request, session: Session, user: User, task: Task, clouds: CloudResolver | None
) -> Response:
    # The preview is of a frame this user may read: the task's first, or its first job's.
    readable = _readable_frames(session, user, task)
    if not len(readable):
        raise NotFound.of("Preview")
    return _serve(request, session, task, readable, "preview", readable[0], "compressed", clouds)


@router.get("/api/tasks/{task_id}/preview")
def task_preview(
    request: Request, task: VisibleTask, user: CurrentUser, session: DbSession, clouds: Clouds
) -> Response:
    if task.data_state != "ready":
        raise NotFound.of("Preview")
    return _task_preview(request, session, user, task, clouds)


@router.get("/api/projects/{project_id}/preview")
def project_preview(
    request: Request,
    project: VisibleProject,
    user: CurrentUser,
    session: DbSession,
    clouds: Clouds,
) -> Response:
    """The preview of the project's first task (that this user may see) with data."""
    task = session.scalars(
        select(Task)
        .where(
            Task.project_id == project.id, Task.data_state == "ready", permissions.task_filter(user)
        )
        .order_by(Task.id)
    ).first()
    if task is None:
        raise NotFound.of("Preview")
    return _task_preview(request, session, user, task, clouds)


@router.get("/api/jobs/{job_id}/preview")
def job_preview(request: Request, job: VisibleJob, session: DbSession, clouds: Clouds) -> Response:
    task = _task_of(session, job)
    frames_all = task_service.job_frames(job)
    return _serve(
        request, session, task, frames_all, "preview", frames_all[0], "compressed", clouds
    )


@router.get("/api/tasks/{task_id}/data/meta")
def task_meta(task: VisibleTask, user: CurrentUser, session: DbSession) -> dict[str, Any]:
    readable = _readable_frames(session, user, task)
    if not isinstance(readable, range):
        # A job's assignee learns only its own frames (names, sizes) from the task's meta.
        selected = frames.frames_of(session, task.id, readable)
        return meta_json(task, selected, 0, max(task.size - 1, 0), readable)
    return meta_json(task, frames.frames_of(session, task.id), 0, max(task.size - 1, 0))


async def patch_meta(request: Request, task: Task, session: Session) -> dict[str, Any]:
    body = await _json_body(request)
    deleted = body.get("deleted_frames")
    if deleted is not None:
        if not isinstance(deleted, list) or not all(
            isinstance(f, int) and 0 <= f < task.size for f in deleted
        ):
            raise Invalid(f"deleted_frames must be frame numbers within 0..{task.size - 1}")
        task.deleted_frames = sorted(set(deleted))
        task_service.touch(session, task)
    return meta_json(task, frames.frames_of(session, task.id), 0, max(task.size - 1, 0))


@router.patch("/api/jobs/{job_id}/data/meta")
async def patch_job_meta(request: Request, job: EditableJob, session: DbSession) -> dict[str, Any]:
    """CVAT's job meta update: the job's deleted frames (task frame numbers in the job);
    the task's deleted frames outside the job stay as they are."""
    task = _task_of(session, job)
    body = await _json_body(request)
    deleted = body.get("deleted_frames")
    in_job = set(task_service.job_frames(job))
    if deleted is not None:
        if not isinstance(deleted, list) or not all(
            isinstance(f, int) and f in in_job for f in deleted
        ):
            raise Invalid(
                f"deleted_frames must be frame numbers of this job "
                f"({job.start_frame}..{job.stop_frame})"
            )
        kept = {f for f in task.deleted_frames or [] if f not in in_job}
        task.deleted_frames = sorted(kept | set(deleted))
        job.updated_date = utcnow()
        task_service.touch(session, task)
    return job_meta(job, session)


@router.get("/api/jobs/{job_id}/data/meta")
def job_meta(job: VisibleJob, session: DbSession) -> dict[str, Any]:
    task = _task_of(session, job)
    frames_all = task_service.job_frames(job)
    selected = frames.frames_of(session, task.id, frames_all)
    included = list(frames_all) if job.frames is not None else None
    return meta_json(task, selected, job.start_frame, job.stop_frame, included)
