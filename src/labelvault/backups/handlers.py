"""Background handlers: make a backup, restore one, roll a project back, take a snapshot, run a
scheduler pass."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from labelvault.background.service import JobContext, RequestFailed, handler
from labelvault.backups import instance, periodic, restore, rollback, scheduler
from labelvault.backups.context import BackupContext
from labelvault.backups.snapshots import SnapshotError
from labelvault.errors import LabelVaultError

# Errors whose message is meant for the user; anything else is a bug and is logged as one.
USER_ERRORS = (LabelVaultError, SnapshotError)


def context_for(ctx: JobContext) -> BackupContext:
    return BackupContext(ctx.settings, ctx.db)


@handler("backup:create")
def create_backup(ctx: JobContext) -> None:
    params: dict[str, Any] = ctx.params
    ctx.progress(0.05, "Making the backup")
    try:
        record = periodic.backup_now(
            context_for(ctx),
            params["target_type"],
            int(params["target_id"]),
            params["kind"],
            reason="manual",
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
        result = restore.restore(
            context_for(ctx), int(params["backup_id"]), ctx.owner_id, mode=params.get("mode", "new")
        )
    except USER_ERRORS as exc:
        raise RequestFailed(str(exc)) from exc
    if result.get("project_id") is not None:
        ctx.result["result_id"] = result["project_id"]
    ctx.result["message"] = ", ".join(f"{k}: {v}" for k, v in result.items())


@handler("backup:rollback")
def rollback_project(ctx: JobContext) -> None:
    params: dict[str, Any] = ctx.params
    try:
        result = rollback.rollback(
            context_for(ctx),
            int(params["project_id"]),
            datetime.fromisoformat(params["to"]),
            progress=ctx.progress,
        )
    except USER_ERRORS as exc:
        raise RequestFailed(str(exc)) from exc
    ctx.result["result_id"] = result.safety_backup_id
    ctx.result["message"] = result.message()


@handler("snapshot:create")
def create_snapshot(ctx: JobContext) -> None:
    ctx.progress(0.05, "Dumping the database and media")
    try:
        info = instance.snapshot(context_for(ctx), ctx.params.get("reason", "manual"))
    except USER_ERRORS as exc:
        raise RequestFailed(str(exc)) from exc
    ctx.result["message"] = info.name


@handler("backup:tick")
def scheduler_tick(ctx: JobContext) -> None:
    report = scheduler.tick(context_for(ctx))
    ctx.result["message"] = (
        f"made {len(report.made)}, unchanged {report.unchanged}, failed {len(report.failed)}, "
        f"deleted {len(report.deleted)}" + (f"; {report.warning}" if report.warning else "")
    )
