"""Endpoints for snapshots (/api/snapshots), project backups (/api/backups) and project
rollbacks (/api/projects/{id}/rollback)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel
from sqlalchemy import or_, select, true
from sqlalchemy.orm import Session

from labelvault.access.deps import ManagedProject
from labelvault.accounts.auth import admin_user, current_user
from labelvault.accounts.models import User
from labelvault.background import service as background
from labelvault.backups import catalog, rollback, snapshots
from labelvault.backups import handlers as _handlers  # noqa: F401  (registers the handlers)
from labelvault.backups.catalog import record_json
from labelvault.backups.lifecycle import BackupRuntime, storage_report
from labelvault.backups.models import BackupRecord
from labelvault.backups.paths import instance_root
from labelvault.backups.status import status_json
from labelvault.errors import Invalid, NotFound
from labelvault.http import db_session, paginate
from labelvault.observability import audit
from labelvault.projects.models import Project
from labelvault.tasks.models import Task

router = APIRouter(tags=["backups"])


def backup_runtime() -> BackupRuntime:
    """What the server's lifespan made of the backups; app.py provides it."""
    raise RuntimeError("app.py provides the backup runtime (dependency_overrides)")


Runtime = Annotated[BackupRuntime, Depends(backup_runtime)]


class BackupCreate(BaseModel):
    project_id: int | None = None
    task_id: int | None = None
    kind: str = "annotations"


class RestoreRequest(BaseModel):
    mode: str = "new"  # "new" | "replace" (full backups); ignored for annotation backups


class RollbackRequest(BaseModel):
    to: datetime  # without an offset: UTC


def _managed_project_uids(user: User) -> Any:
    return select(Project.uid).where(
        or_(Project.owner_id == user.id, Project.assignee_id == user.id)
    )


def _managed_task_uids(user: User) -> Any:
    return select(Task.uid).where(
        Task.project_id.is_(None), or_(Task.owner_id == user.id, Task.assignee_id == user.id)
    )


def _record_filter(user: User) -> Any:
    """Owners see (and restore) their backups, managers those of the targets they manage
    now (by uid: a later target given a deleted one's id is another target); admins all."""
    if user.is_admin:
        return true()
    return or_(
        BackupRecord.owner_id == user.id,
        (BackupRecord.target_type == "project")
        & BackupRecord.target_uid.in_(_managed_project_uids(user)),
        (BackupRecord.target_type == "task")
        & BackupRecord.target_uid.in_(_managed_task_uids(user)),
    )


def _visible_record(session: Session, user: User, backup_id: int) -> BackupRecord:
    record = session.scalars(
        select(BackupRecord).where(BackupRecord.id == backup_id, _record_filter(user))
    ).first()
    if record is None:
        raise NotFound.of("Backup")
    return record


def _queue(runtime: BackupRuntime, rq_id: str) -> Response:
    runtime.queue.enqueue(rq_id)
    return Response(f'{{"rq_id":"{rq_id}"}}', status_code=202, media_type="application/json")


# ---- project backups ----------------------------------------------------------------------


@router.get("/api/backups")
def list_backups(
    request: Request,
    runtime: Runtime,
    project_id: int | None = None,
    task_id: int | None = None,
    kind: str | None = None,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    query = select(BackupRecord).where(_record_filter(user))
    if project_id is not None:
        query = query.where(
            BackupRecord.target_type == "project", BackupRecord.target_id == project_id
        )
    if task_id is not None:
        query = query.where(BackupRecord.target_type == "task", BackupRecord.target_id == task_id)
    if kind is not None:
        if kind not in ("annotations", "full"):
            raise Invalid("kind must be 'annotations' or 'full'")
        query = query.where(BackupRecord.kind == kind)
    query = query.order_by(BackupRecord.created_date.desc(), BackupRecord.id.desc())
    root = runtime.context.periodic_root
    return paginate(request, session, query, lambda rows: [record_json(r, root) for r in rows])


@router.post("/api/backups", status_code=202)
def create_backup(
    body: BackupCreate,
    runtime: Runtime,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    if body.kind not in ("annotations", "full"):
        raise Invalid("kind must be 'annotations' or 'full'")
    if (body.project_id is None) == (body.task_id is None):
        raise Invalid("give either project_id or task_id (of a task outside a project)")
    if body.project_id is not None:
        target_type, target_id = "project", body.project_id
        project = session.get(Project, target_id)
        allowed = project is not None and (
            user.is_admin or user.id in (project.owner_id, project.assignee_id)
        )
    else:
        target_type, target_id = "task", int(body.task_id)  # type: ignore[arg-type]
        task = session.get(Task, target_id)
        allowed = (
            task is not None
            and task.project_id is None
            and (user.is_admin or user.id in (task.owner_id, task.assignee_id))
        )
    if not allowed:
        raise NotFound.of("Project" if target_type == "project" else "Task")
    rq_id = background.create(
        runtime.context.db,
        operation="backup:create",
        target=target_type,
        owner_id=user.id,
        params={"target_type": target_type, "target_id": target_id, "kind": body.kind},
        project_id=target_id if target_type == "project" else None,
        task_id=target_id if target_type == "task" else None,
    )
    return _queue(runtime, rq_id)


@router.get("/api/backups/status")
def backups_status(
    runtime: Runtime,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    ctx = runtime.context
    visible = None
    if not user.is_admin:
        visible = {("project", uid) for uid in session.scalars(_managed_project_uids(user))}
        visible |= {("task", uid) for uid in session.scalars(_managed_task_uids(user))}
    return {
        **status_json(session, ctx.config, visible),
        "backups": storage_report(ctx.settings, ctx.storage),
    }


@router.get("/api/backups/{backup_id}")
def get_backup(
    backup_id: int,
    runtime: Runtime,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    return record_json(_visible_record(session, user, backup_id), runtime.context.periodic_root)


@router.get("/api/backups/{backup_id}/download")
def download_backup(
    backup_id: int,
    runtime: Runtime,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> StreamingResponse:
    record = _visible_record(session, user, backup_id)
    chunks = runtime.context.periodic.iter_bytes(record.path)
    name = record.path.rsplit("/", 1)[-1]
    return StreamingResponse(
        chunks,
        media_type="application/zip",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Content-Length": str(record.size),
        },
    )


@router.delete("/api/backups/{backup_id}", status_code=204)
def delete_backup(
    backup_id: int,
    request: Request,
    runtime: Runtime,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    record = _visible_record(session, user, backup_id)
    audit.record(
        session,
        "backup.deleted",
        user=user,
        address=audit.address_of(request),
        target=f"backup {record.id} of {record.target_type} {record.target_id}",
    )
    session.commit()
    catalog.delete(runtime.context, record.id)
    return Response(status_code=204)


@router.post("/api/backups/{backup_id}/restore", status_code=202)
def restore_backup(
    backup_id: int,
    request: Request,
    runtime: Runtime,
    body: RestoreRequest | None = None,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    record = _visible_record(session, user, backup_id)
    mode = (body or RestoreRequest()).mode
    if mode not in ("new", "replace"):
        raise Invalid("mode must be 'new' or 'replace'")
    if record.status != "good":
        raise Invalid(f"backup {record.id} is marked corrupt and cannot be restored")
    audit.record(
        session,
        "backup.restore",
        user=user,
        address=audit.address_of(request),
        target=f"backup {record.id} of {record.target_type} {record.target_id}",
        detail=f"mode={mode}",
    )
    rq_id = background.create(
        runtime.context.db,
        operation="backup:restore",
        target=record.target_type,
        owner_id=user.id,
        params={"backup_id": record.id, "mode": mode},
        project_id=record.target_id if record.target_type == "project" else None,
        task_id=record.target_id if record.target_type == "task" else None,
    )
    return _queue(runtime, rq_id)


# ---- project rollback ----------------------------------------------------------------------


@router.get("/api/projects/{project_id}/rollback/points")
def rollback_points(project: ManagedProject, runtime: Runtime) -> dict[str, Any]:
    """The range a rollback can reach: the oldest snapshot to the newest journaled save."""
    return rollback.points(runtime.context).to_json()


@router.post("/api/projects/{project_id}/rollback", status_code=202)
def rollback_project(
    body: RollbackRequest,
    request: Request,
    project: ManagedProject,
    runtime: Runtime,
    user: User = Depends(current_user),
) -> Response:
    """Roll the project's annotations back to `to`, after a full safety backup of it."""
    to = rollback.as_utc(body.to)
    # A time the storage cannot reach is refused now, not after the request has queued.
    rollback.check(runtime.context, to)
    audit.record_now(
        runtime.context.db.sessionmaker,
        "backup.restore",
        user=user,
        address=audit.address_of(request),
        target=f"project {project.id} {project.name}",
        detail=f"rollback to {to.isoformat()}",
    )
    rq_id = background.create(
        runtime.context.db,
        operation="backup:rollback",
        target="project",
        owner_id=user.id,
        params={"project_id": project.id, "to": to.isoformat()},
        project_id=project.id,
    )
    return _queue(runtime, rq_id)


# ---- instance snapshots (admins) ------------------------------------------------------------


def _storage_call(func: Any, *args: Any) -> Any:
    # SnapshotError is not a LabelVaultError yet (snapshots.py); storage errors are (502).
    try:
        return func(*args)
    except snapshots.SnapshotError as exc:
        raise NotFound.of(str(exc)) from exc


def _instance(runtime: BackupRuntime) -> str:
    return instance_root(runtime.settings)


@router.get("/api/snapshots")
def list_snapshots(runtime: Runtime, _: User = Depends(admin_user)) -> dict[str, Any]:
    found = _storage_call(snapshots.list_snapshots, runtime.context.storage, _instance(runtime))
    return {
        "count": len(found),
        "next": None,
        "previous": None,
        "results": [s.to_json() for s in found],
    }


@router.post("/api/snapshots", status_code=202)
def create_snapshot(runtime: Runtime, user: User = Depends(admin_user)) -> Response:
    rq_id = background.create(
        runtime.context.db,
        operation="snapshot:create",
        target="instance",
        owner_id=user.id,
        params={"reason": "manual"},
    )
    return _queue(runtime, rq_id)


@router.get("/api/snapshots/{name}")
def get_snapshot(name: str, runtime: Runtime, _: User = Depends(admin_user)) -> dict[str, Any]:
    info = _storage_call(snapshots.get_snapshot, runtime.context.storage, name, _instance(runtime))
    return info.to_json()


@router.delete("/api/snapshots/{name}", status_code=204)
def delete_snapshot(
    name: str, request: Request, runtime: Runtime, user: User = Depends(admin_user)
) -> Response:
    _storage_call(snapshots.delete_snapshot, runtime.context.storage, name, _instance(runtime))
    audit.record_now(
        runtime.context.db.sessionmaker,
        "snapshot.deleted",
        user=user,
        address=audit.address_of(request),
        target=f"snapshot {name}",
    )
    return Response(status_code=204)
