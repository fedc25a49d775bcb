"""Endpoints for job and task annotations: GET, PUT, PATCH ?action=…, DELETE."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy.orm import Session

from labelvault.access.deps import CurrentUser, EditableJob, ManagedTask, VisibleJob
from labelvault.annotations import service
from labelvault.annotations.schemas import LabeledData
from labelvault.errors import Invalid
from labelvault.http import db_session, raw_body
from labelvault.review import activity
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Task

router = APIRouter(tags=["annotations"])

JSON = "application/json"
_REPLY_SCHEMA = LabeledData.model_json_schema(mode="serialization")
_LABELED_DATA = {200: {"content": {JSON: {"schema": _REPLY_SCHEMA}}}}


def _expected_version(request: Request) -> int | None:
    """The version the client last read, from `If-Match` (absent or * means any)."""
    header = request.headers.get("if-match", "").strip()
    if not header or header == "*":
        return None
    value = header.removeprefix("W/").strip('"')
    try:
        return int(value)
    except ValueError as exc:
        raise Invalid(f"If-Match must be a version number, not {header!r}") from exc


def _reply(body: bytes, version: int | None = None) -> Response:
    # The ETag is the job's annotation version: send it back in If-Match to save safely.
    headers = {"ETag": f'"{version}"'} if version is not None else None
    return Response(body, media_type=JSON, headers=headers)


def _check_import(request: Request) -> None:
    if request.query_params.get("format") or "upload-start" in request.headers:
        raise Invalid("importing annotation files is not supported yet; send JSON")


def _record(
    request: Request,
    session: Session,
    user: CurrentUser,
    task: Task,
    job_id: int | None,
    action: str,
    saved: service.Saved | None = None,
) -> None:
    """One activity row per save, in the save's transaction (unless activity is off)."""
    if request.app.state.settings.activity:
        objects, version = (saved.objects, saved.version) if saved else (0, 0)
        activity.record_save(session, user.id, task, job_id, action, objects, version)


# ---- job -----------------------------------------------------------------------------------


@router.get("/api/jobs/{job_id}/annotations", responses=_LABELED_DATA)
def get_job_annotations(
    job: VisibleJob, request: Request, session: Session = Depends(db_session)
) -> Response:
    _check_import(request)
    return _reply(service.read(session, [job.id], job.annotation_version), job.annotation_version)


@router.put("/api/jobs/{job_id}/annotations", responses=_LABELED_DATA)
def put_job_annotations(
    job: EditableJob,
    request: Request,
    user: CurrentUser,
    raw: bytes = Depends(raw_body),
    session: Session = Depends(db_session),
) -> Response:
    _check_import(request)
    data = service.parse(raw)
    saved = service.save_job(session, job, data, None, _expected_version(request))
    _record(request, session, user, session.get(Task, job.task_id), job.id, "replace", saved)
    return _reply(saved.body, saved.version)


@router.patch("/api/jobs/{job_id}/annotations", responses=_LABELED_DATA)
def patch_job_annotations(
    job: EditableJob,
    request: Request,
    user: CurrentUser,
    action: str = "create",
    raw: bytes = Depends(raw_body),
    session: Session = Depends(db_session),
) -> Response:
    data = service.parse(raw)
    saved = service.save_job(session, job, data, action, _expected_version(request))
    _record(request, session, user, session.get(Task, job.task_id), job.id, action, saved)
    return _reply(saved.body, saved.version)


@router.delete("/api/jobs/{job_id}/annotations", status_code=204)
def delete_job_annotations(
    job: EditableJob, request: Request, user: CurrentUser, session: Session = Depends(db_session)
) -> Response:
    service.clear_and_bump(session, [job.id])
    _record(request, session, user, session.get(Task, job.task_id), job.id, "clear")
    return Response(status_code=204)


# ---- task ----------------------------------------------------------------------------------


def _job_ids(session: Session, task_id: int) -> list[int]:
    return [j.id for j in task_service.jobs_of(session, task_id)]


@router.get("/api/tasks/{task_id}/annotations", responses=_LABELED_DATA)
def get_task_annotations(
    task: ManagedTask, request: Request, session: Session = Depends(db_session)
) -> Response:
    _check_import(request)
    job_ids = _job_ids(session, task.id)
    return _reply(service.read(session, job_ids, service.version(session, job_ids)))


@router.put("/api/tasks/{task_id}/annotations", responses=_LABELED_DATA)
def put_task_annotations(
    task: ManagedTask,
    request: Request,
    user: CurrentUser,
    raw: bytes = Depends(raw_body),
    session: Session = Depends(db_session),
) -> Response:
    _check_import(request)
    data = service.parse(raw)
    saved = service.save_task(session, task, data, None)
    _record(request, session, user, task, None, "replace", saved)
    return _reply(saved.body)


@router.patch("/api/tasks/{task_id}/annotations", responses=_LABELED_DATA)
def patch_task_annotations(
    task: ManagedTask,
    request: Request,
    user: CurrentUser,
    action: str = "create",
    raw: bytes = Depends(raw_body),
    session: Session = Depends(db_session),
) -> Response:
    data = service.parse(raw)
    saved = service.save_task(session, task, data, action)
    _record(request, session, user, task, None, action, saved)
    return _reply(saved.body)


@router.delete("/api/tasks/{task_id}/annotations", status_code=204)
def delete_task_annotations(
    task: ManagedTask, request: Request, user: CurrentUser, session: Session = Depends(db_session)
) -> Response:
    service.clear_and_bump(session, _job_ids(session, task.id))
    _record(request, session, user, task, None, "clear")
    return Response(status_code=204)
