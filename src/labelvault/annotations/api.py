"""Endpoints for job and task annotations: GET, PUT, PATCH ?action=…, DELETE."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.access.deps import project_of, visible_job, visible_task
from labelvault.accounts.auth import current_user
from labelvault.accounts.models import User
from labelvault.annotations import service
from labelvault.annotations.schemas import LabeledData
from labelvault.errors import Invalid, PreconditionFailed
from labelvault.http import db_session, raw_body
from labelvault.projects import service as project_service
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Job, Task

router = APIRouter(tags=["annotations"])

JSON = "application/json"
_REPLY_SCHEMA = LabeledData.model_json_schema(mode="serialization")
_LABELED_DATA = {200: {"content": {JSON: {"schema": _REPLY_SCHEMA}}}}


def _labels(session: Session, task: Task) -> dict[int, project_service.LabelInfo]:
    if task.project_id is not None:
        return project_service.label_infos(session, project_id=task.project_id)
    return project_service.label_infos(session, task_id=task.id)


def job_scope(session: Session, task: Task, job: Job) -> service.Scope:
    frames = task_service.job_frames(job)
    return service.Scope(
        job_ids=[job.id],
        labels=_labels(session, task),
        frame_min=job.start_frame,
        frame_max=job.stop_frame,
        frame_set=frozenset(frames) if job.frames is not None else None,
    )


def task_scope(session: Session, task: Task) -> service.Scope:
    jobs = task_service.jobs_of(session, task.id)
    if not jobs:
        raise Invalid("this task has no data yet, so it has no frames to annotate")
    owner: dict[int, int] = {}
    for job in jobs:
        for frame in task_service.job_frames(job):
            owner.setdefault(frame, job.id)  # overlapping frames belong to the first job
    return service.Scope(
        job_ids=[j.id for j in jobs],
        labels=_labels(session, task),
        frame_min=0,
        frame_max=max(task.size - 1, 0),
        frame_set=frozenset(owner),
        job_of_frame=owner.__getitem__,
    )


def _can_edit_job(session: Session, user: User, task: Task, job: Job) -> bool:
    return job.assignee_id == user.id or permissions.manages_task(
        user, task, project_of(session, task)
    )


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


def _claim(session: Session, job: Job, request: Request) -> int:
    """Take the job for this write and give it its next version, before anything is written.

    The update locks the job row, so two saves of one job run one after the other; with
    If-Match, a save based on an older version is refused instead of overwriting newer work.
    """
    expected = _expected_version(request)
    query = update(Job).where(Job.id == job.id)
    if expected is not None:
        query = query.where(Job.annotation_version == expected)
    version = session.execute(
        query.values(annotation_version=Job.annotation_version + 1).returning(
            Job.annotation_version
        )
    ).scalar()
    if version is None:
        current = session.scalar(select(Job.annotation_version).where(Job.id == job.id))
        raise PreconditionFailed(
            f"This job was saved elsewhere since you loaded it (now version "
            f"{current}, yours {expected}); reload the job, then save again."
        )
    return version


class _Claim:
    """Claims the job's next version when the service is about to write."""

    def __init__(self, session: Session, job: Job, request: Request) -> None:
        self.session, self.job, self.request = session, job, request
        self.version = job.annotation_version

    def __call__(self) -> None:
        self.version = _claim(self.session, self.job, self.request)


def _bump(session: Session, job_ids: list[int]) -> int:
    """Increment the annotation version of the jobs atomically; returns the new version."""
    session.execute(
        update(Job).where(Job.id.in_(job_ids)).values(annotation_version=Job.annotation_version + 1)
    )
    return max(session.scalars(select(Job.annotation_version).where(Job.id.in_(job_ids))))


def _version(session: Session, job_ids: list[int]) -> int:
    versions = list(session.scalars(select(Job.annotation_version).where(Job.id.in_(job_ids))))
    return max(versions) if versions else 0


def _rejected(exc: service.AnnotationError) -> Invalid:
    # One string naming every offending object and field: the CLI prints the body as is.
    return Invalid("Annotations were not saved: " + "; ".join(exc.errors))


def _reply(body: bytes, version: int | None = None) -> Response:
    # The ETag is the job's annotation version: send it back in If-Match to save safely.
    headers = {"ETag": f'"{version}"'} if version is not None else None
    return Response(body, media_type=JSON, headers=headers)


def _payload(raw: bytes) -> service.Payload:
    try:
        return service.parse(raw)
    except service.AnnotationError as exc:
        raise _rejected(exc) from exc


def _check_import(request: Request) -> None:
    if request.query_params.get("format") or "upload-start" in request.headers:
        raise Invalid("importing annotation files is not supported yet; send JSON")


# ---- job -----------------------------------------------------------------------------------


def _job_and_task(session: Session, user: User, job_id: int) -> tuple[Job, Task]:
    job = visible_job(session, user, job_id)
    return job, session.get(Task, job.task_id)


def _editable_job(session: Session, user: User, job_id: int) -> tuple[Job, Task]:
    job, task = _job_and_task(session, user, job_id)
    permissions.require(
        _can_edit_job(session, user, task, job),
        "Only the job's assignee or the task's owner/assignee may annotate it.",
    )
    return job, task


@router.get("/api/jobs/{job_id}/annotations", responses=_LABELED_DATA)
def get_job_annotations(
    job_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    _check_import(request)
    job, _ = _job_and_task(session, user, job_id)
    return _reply(service.read(session, [job.id], job.annotation_version), job.annotation_version)


@router.put("/api/jobs/{job_id}/annotations", responses=_LABELED_DATA)
def put_job_annotations(
    job_id: int,
    request: Request,
    raw: bytes = Depends(raw_body),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    _check_import(request)
    job, task = _editable_job(session, user, job_id)
    data = _payload(raw)
    claim = _Claim(session, job, request)
    try:
        written = service.replace(session, job_scope(session, task, job), data, claim)
    except service.AnnotationError as exc:
        raise _rejected(exc) from exc
    return _reply(written.reply(claim.version), claim.version)


@router.patch("/api/jobs/{job_id}/annotations", responses=_LABELED_DATA)
def patch_job_annotations(
    job_id: int,
    request: Request,
    action: str = "create",
    raw: bytes = Depends(raw_body),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    job, task = _editable_job(session, user, job_id)
    data = _payload(raw)
    claim = _Claim(session, job, request)
    try:
        written = service.patch(session, job_scope(session, task, job), data, action, claim)
    except service.AnnotationError as exc:
        raise _rejected(exc) from exc
    return _reply(written.reply(claim.version), claim.version)


@router.delete("/api/jobs/{job_id}/annotations", status_code=204)
def delete_job_annotations(
    job_id: int, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> Response:
    job, _ = _editable_job(session, user, job_id)
    service.clear_jobs(session, [job.id])
    _bump(session, [job.id])
    return Response(status_code=204)


# ---- task ----------------------------------------------------------------------------------


def _editable_task(session: Session, user: User, task_id: int) -> Task:
    task = visible_task(session, user, task_id)
    permissions.require(
        permissions.manages_task(user, task, project_of(session, task)),
        "Only the task's owner or assignee may change all its annotations.",
    )
    return task


def _job_ids(session: Session, task: Task) -> list[int]:
    return [j.id for j in task_service.jobs_of(session, task.id)]


@router.get("/api/tasks/{task_id}/annotations", responses=_LABELED_DATA)
def get_task_annotations(
    task_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    _check_import(request)
    task = visible_task(session, user, task_id)
    job_ids = _job_ids(session, task)
    return _reply(service.read(session, job_ids, _version(session, job_ids)))


@router.put("/api/tasks/{task_id}/annotations", responses=_LABELED_DATA)
def put_task_annotations(
    task_id: int,
    request: Request,
    raw: bytes = Depends(raw_body),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    _check_import(request)
    task = _editable_task(session, user, task_id)
    data = _payload(raw)
    scope = task_scope(session, task)
    try:
        written = service.replace(session, scope, data)
    except service.AnnotationError as exc:
        raise _rejected(exc) from exc
    return _reply(written.reply(_bump(session, scope.job_ids)))


@router.patch("/api/tasks/{task_id}/annotations", responses=_LABELED_DATA)
def patch_task_annotations(
    task_id: int,
    request: Request,
    action: str = "create",
    raw: bytes = Depends(raw_body),
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    task = _editable_task(session, user, task_id)
    data = _payload(raw)
    scope = task_scope(session, task)
    try:
        written = service.patch(session, scope, data, action)
    except service.AnnotationError as exc:
        raise _rejected(exc) from exc
    return _reply(written.reply(_bump(session, scope.job_ids)))


@router.delete("/api/tasks/{task_id}/annotations", status_code=204)
def delete_task_annotations(
    task_id: int, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> Response:
    task = _editable_task(session, user, task_id)
    job_ids = _job_ids(session, task)
    if job_ids:
        service.clear_jobs(session, job_ids)
        _bump(session, job_ids)
    return Response(status_code=204)
