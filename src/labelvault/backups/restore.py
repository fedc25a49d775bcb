"""Reading backups back: verify a stored backup, and restore one in one action."""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update

from labelvault.accounts.models import User
from labelvault.annotations import service as annotation_service
from labelvault.backups import archive, catalog, periodic, renumber, snapshots
from labelvault.backups import targets as target_rows
from labelvault.backups.context import BackupContext
from labelvault.backups.errors import BackupError, BackupIntegrityError
from labelvault.backups.models import BackupRecord
from labelvault.config import Settings
from labelvault.datasets import backup as dataset_backup
from labelvault.db import Database
from labelvault.projects import service as project_service
from labelvault.projects.models import Label, Project
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Job, Task


def verify(ctx: BackupContext, record_id: int, *, restore_test: bool = False) -> dict[str, Any]:
    """Read a backup back and check its checksum; optionally restore it into a scratch
    SQLite database to prove it restores."""
    record = catalog.get(ctx, record_id)
    work = snapshots.local_tmp(ctx.settings) / f"verify-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        local = work / "backup.zip"
        catalog.fetch_verified(ctx, record, local)
        result: dict[str, Any] = {"id": record.id, "checksum": "ok"}
        if restore_test:
            result["restore_test"] = _restore_test(record, local, work)
        return result
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _restore_test(record: BackupRecord, local: Path, work: Path) -> dict[str, int]:
    from labelvault.db.migrate import upgrade

    scratch_settings = Settings(data_dir=work / "scratch")
    scratch_settings.ensure_dirs()
    scratch = Database(scratch_settings.resolved_database_url)
    try:
        upgrade(scratch.engine)
        with scratch.session() as session:
            user = User(username="restore-test", role="admin")
            session.add(user)
            session.flush()
            user_id = user.id
        if record.kind == "full":
            with archive.format_errors():
                if record.target_type == "project":
                    dataset_backup.restore_project(scratch, scratch_settings, local, user_id)
                else:
                    dataset_backup.restore_task(scratch, scratch_settings, local, user_id)
            with scratch.session() as session:
                tasks = session.scalar(select(func.count()).select_from(Task)) or 0
        else:
            tasks = len(archive.read_ids(local)["tasks"])
        with scratch.session() as session:
            jobs = session.scalar(select(func.count()).select_from(Job)) or 0
        return {"tasks": tasks, "jobs": jobs}
    finally:
        scratch.dispose()


def restore(
    ctx: BackupContext, record_id: int, user_id: int | None, *, mode: str = "new"
) -> dict[str, Any]:
    """Restore one backup in one action.

    full + "new": a new project (or task) from the backup; full + "replace": a safety
    backup of the current project, then its tasks and labels are replaced by the
    backup's; annotations: that moment's annotations go back into the same tasks and jobs.
    """
    record = catalog.get(ctx, record_id)
    if record.status != "good":
        raise BackupIntegrityError(f"backup {record_id} is marked corrupt; it is not restored")
    work = snapshots.local_tmp(ctx.settings) / f"restore-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        local = work / "backup.zip"
        catalog.fetch_verified(ctx, record, local)
        if record.kind == "annotations":
            with ctx.db.session() as session:
                counts = archive.restore_annotations_in_place(session, local)
            return {"kind": "annotations", **counts}
        if record.target_type != "project":
            if mode == "replace":
                raise BackupError(
                    "a task cannot be replaced from its full backup; restore it as a new task"
                )
            with archive.format_errors():
                task_id = dataset_backup.restore_task(
                    ctx.db,
                    ctx.settings,
                    local,
                    user_id,  # type: ignore[arg-type]
                )
            _keep_details(ctx, local, [task_id])
            return {"kind": "full", "task_id": task_id, "mode": "new"}
        if mode == "replace":
            return _restore_replace(ctx, record, local, user_id)
        with archive.format_errors():
            project_id = dataset_backup.restore_project(
                ctx.db,
                ctx.settings,
                local,
                user_id,  # type: ignore[arg-type]
            )
        _keep_details(ctx, local, _task_ids(ctx, project_id))
        return {"kind": "full", "project_id": project_id, "mode": "new"}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _restore_replace(
    ctx: BackupContext, record: BackupRecord, local: Path, user_id: int | None
) -> dict[str, Any]:
    """Restore as a new project, then in one transaction swap its tasks and labels in
    for the current project's: a failure at any point leaves the project as it was."""
    with ctx.db.session() as session:
        current = session.get(Project, record.target_id)
        # Another project holding the id now is not the one saved: never replace it.
        if current is not None and current.uid != record.target_uid:
            current = None
        owner_id = current.owner_id if current is not None else None
    if current is None:
        raise BackupError(
            f"project {record.target_id} no longer exists; restore the backup as a new project"
        )
    with ctx.db.session() as session:
        target = target_rows.target(session, "project", record.target_id)
    safety = periodic.make(ctx, target, "full", "safety")
    with archive.format_errors():
        restored_id = dataset_backup.restore_project(
            ctx.db,
            ctx.settings,
            local,
            owner_id or user_id,  # type: ignore[arg-type]
        )
    old_dirs: list[Path] = []
    moves = renumber.Moves()
    try:
        _keep_details(ctx, local, _task_ids(ctx, restored_id))
        with ctx.db.session() as session:
            project = session.get(Project, record.target_id)
            if project is None:
                raise BackupError(f"project {record.target_id} was deleted during the restore")
            for task in session.scalars(select(Task).where(Task.project_id == project.id)):
                old_dirs.append(task_service.task_media_dir(ctx.settings, task.id))
                session.delete(task)
            for label in session.scalars(
                select(Label).where(Label.project_id == project.id, Label.parent_id.is_(None))
            ):
                session.delete(label)
            session.flush()
            name, bug_tracker = session.execute(
                select(Project.name, Project.bug_tracker).where(Project.id == restored_id)
            ).one()
            for model in (Label, Task):
                session.execute(
                    update(model)
                    .where(model.project_id == restored_id)
                    .values(project_id=project.id)
                )
            session.execute(delete(Project).where(Project.id == restored_id))
            project.name, project.bug_tracker = name, bug_tracker
            project_service.touch(project)
            # Links, scripts and people know the tasks and jobs by id: keep those that are free.
            restored = session.scalars(
                select(Task.id).where(Task.project_id == project.id).order_by(Task.id)
            )
            _, moves = renumber.keep_ids(
                session.connection(), ctx.settings, list(restored), archive.task_entries(local)
            )
            job_ids = list(
                session.scalars(
                    select(Job.id)
                    .join(Task, Job.task_id == Task.id)
                    .where(Task.project_id == project.id)
                )
            )
            annotation_service.announce_jobs(session, job_ids)
    except BaseException:
        moves.undo()
        dataset_backup.discard_project(ctx.db, ctx.settings, restored_id)
        raise
    # Old media go only once the new state is committed (a renumbered task now owns its
    # old folder name; the replaced folder was set aside).
    taken = {target for _, target in moves.dirs if target not in moves.replaced}
    for d in [d for d in old_dirs if d not in taken] + moves.replaced:
        shutil.rmtree(d, ignore_errors=True)
    return {
        "kind": "full",
        "project_id": record.target_id,
        "mode": "replace",
        "safety_backup_id": safety.id,
    }


def _task_ids(ctx: BackupContext, project_id: int) -> list[int]:
    """A restored project's tasks in the order they were made (that of the backup's folders)."""
    with ctx.db.session() as session:
        return list(
            session.scalars(select(Task.id).where(Task.project_id == project_id).order_by(Task.id))
        )


def _keep_details(ctx: BackupContext, local: Path, task_ids: list[int]) -> None:
    with ctx.db.session() as session, archive.format_errors():
        archive.restore_task_details(session, local, task_ids)
