"""Background handlers: make a backup, restore one, take a snapshot, run a scheduler pass."""

from __future__ import annotations

from typing import Any

from labelvault.background.service import JobContext, RequestFailed, handler
from labelvault.backups.cvat_backup import BackupFormatError
from labelvault.backups.service import BackupError, BackupService
from labelvault.backups.snapshots import SnapshotError
from labelvault.storage import StorageError

# Errors whose message is meant for the user; anything else is a bug and is logged as one.
USER_ERRORS = (BackupError, BackupFormatError, SnapshotError, StorageError)


def service_for(ctx: JobContext) -> BackupService:
    return BackupService(ctx.settings, ctx.db)


@handler("backup:create")
def create_backup(ctx: JobContext) -> None:
    params: dict[str, Any] = ctx.params
    ctx.progress(0.05, "Making the backup")
    try:
        record = service_for(ctx).backup_now(
            params["target_type"], int(params["target_id"]), params["kind"], reason="manual"
        )
    except USER_ERRORS as exc:
        raise RequestFailed(str(exc)) from exc
    ctx.result["result_id"] = record.id
    ctx.result["result_url"] = f"/api/backups/{record.id}/download"


@handler("backup:restore")
def restore_backup(ctx: JobContext) -> None:
    params: dict[str, Any] = ctx.params
    ctx.progress(0.05, "Downloading and verifying the backup")
    try:
        result = service_for(ctx).restore(
            int(params["backup_id"]), ctx.owner_id, mode=params.get("mode", "new")
        )
    except USER_ERRORS as exc:
        raise RequestFailed(str(exc)) from exc
    if result.get("project_id") is not None:
        ctx.result["result_id"] = result["project_id"]
    ctx.result["message"] = ", ".join(f"{k}: {v}" for k, v in result.items())


@handler("snapshot:create")
def create_snapshot(ctx: JobContext) -> None:
    ctx.progress(0.05, "Dumping the database and media")
    try:
        info = service_for(ctx).snapshot(ctx.params.get("reason", "manual"))
    except USER_ERRORS as exc:
        raise RequestFailed(str(exc)) from exc
    ctx.result["message"] = info.name


@handler("backup:tick")
def scheduler_tick(ctx: JobContext) -> None:
    report = service_for(ctx).tick()
    ctx.result["message"] = (
        f"made {len(report.made)}, unchanged {report.unchanged}, failed {len(report.failed)}, "
        f"deleted {len(report.deleted)}" + (f"; {report.warning}" if report.warning else "")
    )
