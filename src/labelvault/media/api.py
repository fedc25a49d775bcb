"""Endpoints for task data: uploads (multipart, TUS), frames, chunks, previews and meta."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from labelvault.access.deps import require_task_manager, visible_job, visible_task
from labelvault.accounts.auth import current_user
from labelvault.accounts.models import User
from labelvault.background import service as background
from labelvault.cloudstorages import service as cloud_service
from labelvault.cloudstorages.api import router as cloudstorages_router
from labelvault.errors import Invalid, LabelVaultError, NotFound
from labelvault.http import db_session, parse_bool
from labelvault.media import service, sources
from labelvault.media.images import MediaError
from labelvault.media.jobs import upload_area
from labelvault.media.models import Frame
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Task

router = APIRouter(tags=["data"])
# Cloud storages ride on this router so they are served without a change to app.py.
router.include_router(cloudstorages_router)

# Small uploads are processed inside the request, so the client's first poll already
# sees "finished" and the CLI never sleeps; big ones go to the queue.
INLINE_FILE_LIMIT = 64


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


def _writable_task(session: Session, user: User, task_id: int) -> Task:
    task = visible_task(session, user, task_id)
    require_task_manager(session, user, task)
    return task


@router.get("/api/server/share")
def server_share(
    request: Request, directory: str = "/", user: User = Depends(current_user)
) -> list[dict[str, str]]:
    try:
        return sources.list_share(request.app.state.settings, directory)
    except sources.SourceError as exc:
        raise LabelVaultError(str(exc), 404 if "not a folder" in str(exc) else 400) from exc


@router.post("/api/tasks/{task_id}/data")
async def upload_data(
    task_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    task = _writable_task(session, user, task_id)
    if task.data_state == "uploading":
        raise LabelVaultError(
            "this task's data is being created; wait for that request to end", 409
        )
    settings = request.app.state.settings
    area = upload_area(settings, task.id)
    kind = _upload_kind(request)
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
        return _start_creation(request, session, user, task, params, len(area.files()))
    except LabelVaultError:
        # A rejected upload ends the upload session: nothing half-received stays behind.
        area.discard()
        raise


def _upload_kind(request: Request) -> str:
    from labelvault.media.uploads import upload_kind

    return upload_kind(request)


def _runs_inline(settings: Any, params: service.DataParams, file_count: int) -> bool:
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
) -> Response:
    try:
        parsed = service.DataParams.from_request(params)
    except service.DataError as exc:
        raise Invalid(str(exc)) from exc
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
        from labelvault.cloudstorages.models import CloudStorage

        cloud_service.bind(request.app.state.db, request.app.state.settings)
        cloud = session.get(CloudStorage, parsed.cloud_storage_id)
        if cloud is None or not (user.is_admin or cloud.owner_id == user.id):
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
def tus_head(
    task_id: int,
    file_id: str,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    task = _writable_task(session, user, task_id)
    return upload_area(request.app.state.settings, task.id).tus_offset(file_id)


@router.patch("/api/tasks/{task_id}/data/{file_id}")
async def tus_patch(
    task_id: int,
    file_id: str,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    if file_id == "meta":
        return await patch_meta(task_id, request, user, session)
    task = _writable_task(session, user, task_id)
    return await upload_area(request.app.state.settings, task.id).tus_patch(request, file_id)


# ---- reading data --------------------------------------------------------------------------


CACHE_CONTROL = "private, max-age=3600"


def _cached(request: Request, tag: str, path: Path | None, media_type: str) -> Response | None:
    """304 when the client has this version, the cached file when there is one, else None."""
    if tag in request.headers.get("if-none-match", ""):
        return Response(status_code=304, headers={"ETag": tag, "Cache-Control": CACHE_CONTROL})
    if path is not None:
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            return None
        return Response(
            body, media_type=media_type, headers={"ETag": tag, "Cache-Control": CACHE_CONTROL}
        )
    return None


def _file(path: Path, tag: str, media_type: str) -> Response:
    return Response(
        path.read_bytes(),
        media_type=media_type,
        headers={"ETag": tag, "Cache-Control": CACHE_CONTROL},
    )


def _one_frame(session: Session, task: Task, number: int) -> Frame:
    frames = service.frames_of(session, task.id, [number])
    if not frames:
        raise NotFound.of("Frame")
    return frames[0]


def _serve(
    request: Request,
    session: Session,
    task: Task,
    frames_all: list[int] | range,
    data_type: str,
    number: int | None,
    quality: str,
) -> Response:
    settings = request.app.state.settings
    if task.data_state != "ready":
        raise Invalid("this task has no data yet")
    if task.cloud_storage_id is not None:
        cloud_service.bind(request.app.state.db, settings)
    if quality not in ("original", "compressed"):
        raise Invalid("quality must be original or compressed")
    version = service.task_version(task)
    try:
        if data_type == "chunk":
            if number is None or number < 0:
                raise Invalid("chunk number is required")
            size = task.chunk_size or 1
            wanted = list(frames_all)[number * size : (number + 1) * size]
            if not wanted:
                raise NotFound.of("Chunk")
            key = service.etag(*wanted).strip('"')
            tag = service.etag(version, "chunk", key, quality, task.image_quality)
            path = service.chunk_path(settings, task, key, quality)
            hit = _cached(request, tag, path, "application/zip")
            if hit is not None:
                return hit
            frames = service.frames_of(session, task.id, wanted)
            return _file(
                service.chunk(settings, task, frames, key, quality), tag, "application/zip"
            )
        if data_type in ("frame", "preview"):
            if data_type == "preview" and number is None:
                number = frames_all[0] if len(frames_all) else 0
            if number is None or number not in frames_all:
                raise Invalid(f"frame number must be within {frames_all[0]}..{frames_all[-1]}")
            if data_type == "preview":
                tag = service.etag(version, "preview", number)
                path = service.preview_path(settings, task, number)
                hit = _cached(request, tag, path, "image/jpeg")
                if hit is not None:
                    return hit
                frame = _one_frame(session, task, number)
                return _file(service.preview(settings, task, frame), tag, "image/jpeg")
            if quality == "compressed":
                # The hot path: a cached frame is served without touching the frames table.
                tag = service.etag(version, "frame", number, task.image_quality)
                path = service.compressed_path(settings, task, number)
                hit = _cached(request, tag, path, "image/jpeg")
                if hit is not None:
                    return hit
                frame = _one_frame(session, task, number)
                return _file(service.compressed_frame(settings, task, frame), tag, "image/jpeg")
            frame = _one_frame(session, task, number)
            tag = service.etag(version, "original", number, frame.path)
            hit = _cached(request, tag, None, "")
            if hit is not None:
                return hit
            return _file(
                service.frame_file(settings, frame), tag, service.original_media_type(frame)
            )
    except MediaError as exc:
        raise LabelVaultError(f"frame cannot be read: {exc}", 422) from exc
    except (sources.SourceError, FileNotFoundError) as exc:
        raise LabelVaultError(f"the frame's file is missing: {exc}", 404) from exc
    if data_type == "context_image":
        raise NotFound.of("Context image")
    raise Invalid("type must be frame, chunk, preview or context_image")


@router.get("/api/tasks/{task_id}/data")
def task_data(
    task_id: int,
    request: Request,
    type: str = "frame",
    number: int | None = None,
    quality: str = "compressed",
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    task = visible_task(session, user, task_id)
    return _serve(request, session, task, range(task.size), type, number, quality)


@router.get("/api/jobs/{job_id}/data")
def job_data(
    job_id: int,
    request: Request,
    type: str = "frame",
    number: int | None = None,
    quality: str = "compressed",
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    job = visible_job(session, user, job_id)
    task = session.get(Task, job.task_id)
    return _serve(request, session, task, task_service.job_frames(job), type, number, quality)


@router.get("/api/tasks/{task_id}/preview")
def task_preview(
    task_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    task = visible_task(session, user, task_id)
    if task.data_state != "ready":
        raise NotFound.of("Preview")
    return _serve(request, session, task, range(task.size), "preview", 0, "compressed")


@router.get("/api/projects/{project_id}/preview")
def project_preview(
    project_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    """The preview of the project's first task (that this user may see) with data."""
    from sqlalchemy import select

    from labelvault.access import permissions
    from labelvault.access.deps import visible_project

    visible_project(session, user, project_id)
    task = session.scalars(
        select(Task)
        .where(
            Task.project_id == project_id, Task.data_state == "ready", permissions.task_filter(user)
        )
        .order_by(Task.id)
    ).first()
    if task is None:
        raise NotFound.of("Preview")
    return _serve(request, session, task, range(task.size), "preview", 0, "compressed")


@router.get("/api/jobs/{job_id}/preview")
def job_preview(
    job_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    job = visible_job(session, user, job_id)
    task = session.get(Task, job.task_id)
    frames = task_service.job_frames(job)
    return _serve(request, session, task, frames, "preview", frames[0], "compressed")


@router.get("/api/tasks/{task_id}/data/meta")
def task_meta(
    task_id: int, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    task = visible_task(session, user, task_id)
    frames = service.frames_of(session, task.id)
    return service.meta_json(task, frames, 0, max(task.size - 1, 0))


async def patch_meta(
    task_id: int, request: Request, user: User, session: Session
) -> dict[str, Any]:
    task = _writable_task(session, user, task_id)
    body = await _json_body(request)
    deleted = body.get("deleted_frames")
    if deleted is not None:
        if not isinstance(deleted, list) or not all(
            isinstance(f, int) and 0 <= f < task.size for f in deleted
        ):
            raise Invalid(f"deleted_frames must be frame numbers within 0..{task.size - 1}")
        task.deleted_frames = sorted(set(deleted))
        task_service.touch(session, task)
    frames = service.frames_of(session, task.id)
    return service.meta_json(task, frames, 0, max(task.size - 1, 0))


@router.get("/api/jobs/{job_id}/data/meta")
def job_meta(
    job_id: int, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    job = visible_job(session, user, job_id)
    task = session.get(Task, job.task_id)
    frames_all = task_service.job_frames(job)
    frames = service.frames_of(session, task.id, frames_all)
    included = list(frames_all) if job.frames is not None else None
    return service.meta_json(task, frames, job.start_frame, job.stop_frame, included)
