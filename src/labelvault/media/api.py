"""Endpoints for task data: uploads (multipart, TUS), frames, chunks, previews and meta."""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from labelvault.accounts.auth import current_user
from labelvault.accounts.models import User
from labelvault.background import service as background
from labelvault.http import ApiError, bad_request, db_session, not_found
from labelvault.media import service
from labelvault.media.jobs import upload_area
from labelvault.tasks import service as task_service
from labelvault.tasks.api import require_task_manager, visible_job, visible_task
from labelvault.tasks.models import Task

router = APIRouter(tags=["data"])

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
        raise bad_request("the request body is not valid JSON") from exc
    if not isinstance(data, dict):
        raise bad_request("the request body must be a JSON object")
    return data


def _writable_task(session: Session, user: User, task_id: int) -> Task:
    task = visible_task(session, user, task_id)
    require_task_manager(session, user, task)
    return task


@router.post("/api/tasks/{task_id}/data")
async def upload_data(
    task_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    task = _writable_task(session, user, task_id)
    if task.data_state == "ready":
        raise bad_request("this task already has data; create a new task for other data")
    settings = request.app.state.settings
    area = upload_area(settings, task.id)
    kind = _upload_kind(request)
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
                    else:
                        params[key] = value
            else:
                params = await _json_body(request)
                if params.get("server_files") or params.get("remote_files"):
                    raise ApiError(
                        400,
                        "server_files and remote_files are not supported yet; "
                        "upload the files (client_files)",
                    )
        return _start_creation(request, session, user, task, params, len(area.files()))
    except ApiError:
        # A rejected upload ends the upload session: nothing half-received stays behind.
        area.discard()
        raise


def _upload_kind(request: Request) -> str:
    from labelvault.media.uploads import upload_kind

    return upload_kind(request)


def _start_creation(
    request: Request,
    session: Session,
    user: User,
    task: Task,
    params: dict[str, Any],
    file_count: int,
) -> Response:
    try:
        service.DataParams.from_request(params)
    except service.DataError as exc:
        raise bad_request(str(exc)) from exc
    if file_count == 0:
        raise bad_request("no files were uploaded; send client_files first")
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
    if file_count <= INLINE_FILE_LIMIT:
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
        raise bad_request("this task has no data yet")
    if quality not in ("original", "compressed"):
        raise bad_request("quality must be original or compressed")
    headers = {"Cache-Control": "private, max-age=3600"}
    if data_type == "chunk":
        if number is None or number < 0:
            raise bad_request("chunk number is required")
        size = task.chunk_size or 1
        wanted = list(frames_all)[number * size : (number + 1) * size]
        if not wanted:
            raise not_found("Chunk")
        frames = service.frames_of(session, task.id, wanted)
        body = service.chunk_bytes(settings, frames, quality, task.image_quality)
        return Response(body, media_type="application/zip", headers=headers)
    if data_type in ("frame", "preview"):
        if data_type == "preview" and number is None:
            number = frames_all[0] if len(frames_all) else 0
        if number is None or number not in frames_all:
            raise bad_request(f"frame number must be within {frames_all[0]}..{frames_all[-1]}")
        frame = service.frames_of(session, task.id, [number])[0]
        if data_type == "preview":
            path = service.preview(settings, frame)
            return FileResponse(path, media_type="image/jpeg", headers=headers)
        if quality == "original":
            path = service.frame_file(settings, frame)
            media_type = service.MIME.get(path.suffix.lower(), "application/octet-stream")
        else:
            path = service.compressed_frame(settings, frame, task.image_quality)
            media_type = "image/jpeg"
        return FileResponse(path, media_type=media_type, headers=headers)
    if data_type == "context_image":
        raise not_found("Context image")
    raise bad_request("type must be frame, chunk, preview or context_image")


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
        raise not_found("Preview")
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
            raise bad_request(f"deleted_frames must be frame numbers within 0..{task.size - 1}")
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
