"""Writing periodic backups: one now (make, upload, verify, catalog), or every due one."""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import orjson
from sqlalchemy import select

from labelvault.backups import archive, leases, paths, rotation, schedule, snapshots
from labelvault.backups import status as status_rows
from labelvault.backups import targets as target_rows
from labelvault.backups.catalog import existing_user, sidecar_of
from labelvault.backups.config import KINDS
from labelvault.backups.context import BackupContext
from labelvault.backups.errors import BackupError, BackupIntegrityError
from labelvault.backups.models import BackupRecord, BackupStatus
from labelvault.backups.targets import Target
from labelvault.storage import StorageError

log = logging.getLogger("labelvault.backups")


@dataclass
class RunReport:
    """What one scheduler pass did."""

    made: list[tuple[str, int, str]] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, int, str, str]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    warning: str = ""
    snapshot: str | None = None


def chunks_of(local: Path) -> Iterator[bytes]:
    """The local archive in upload-sized chunks (a seam for fault-injection tests)."""
    with local.open("rb") as f:
        while chunk := f.read(1024 * 1024):
            yield chunk


def backup_path(target: Target, kind: str, created: datetime) -> str:
    stamp = created.strftime("%Y%m%dT%H%M%S")
    return (
        f"{target.type}-{target.id}/{kind}/"
        f"{target.type}_{target.id}_{kind}_{stamp}_{uuid.uuid4().hex[:6]}.zip"
    )


def backup_now(
    ctx: BackupContext, target_type: str, target_id: int, kind: str, *, reason: str = "manual"
) -> BackupRecord:
    """Make, upload, verify and catalog one backup; the status records success or failure."""
    if kind not in KINDS:
        raise BackupError(f"unknown backup kind {kind!r}: use 'annotations' or 'full'")
    with ctx.db.session() as session:
        target = target_rows.target(session, target_type, target_id)
    try:
        return make(ctx, target, kind, reason)
    except Exception as exc:
        status_rows.record_failure(
            ctx, target.type, target.id, kind, exc, name=target.name, uid=target.uid
        )
        raise


def make(ctx: BackupContext, target: Target, kind: str, reason: str) -> BackupRecord:
    """One backup of `target`, read back from the storage before it is cataloged as good."""
    now = ctx.clock()
    work = snapshots.local_tmp(ctx.settings) / f"backup-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        local = work / "backup.zip"
        with ctx.db.session() as session, local.open("w+b") as out:
            # The fingerprint is taken in the same session as the data it describes.
            target = target_rows.target(session, target.type, target.id)
            archive.make_backup(session, target.type, target.id, out, kind, settings=ctx.settings)
        path = backup_path(target, kind, now)
        result = ctx.periodic.write_atomic(path, chunks_of(local), size=local.stat().st_size)
        # Read back what is now listed, not just the temporary write_atomic checked.
        stored = ctx.periodic.digest(path)
        if stored != (result.size, result.sha256):
            raise BackupIntegrityError(f"{path} changed after upload; it will be made again")
        meta = {
            "target_type": target.type,
            "target_id": target.id,
            "target_uid": target.uid,
            "target_name": target.name,
            "owner_id": target.owner_id,
            "kind": kind,
            "reason": reason,
            "size": result.size,
            "sha256": result.sha256,
            "fingerprint": target.fingerprint,
            "created": now.isoformat(),
        }
        ctx.periodic.write_bytes(sidecar_of(path), orjson.dumps(meta))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    with ctx.db.session() as session:
        record = BackupRecord(
            target_type=target.type,
            target_id=target.id,
            target_uid=target.uid,
            target_name=target.name,
            owner_id=existing_user(session, target.owner_id),
            kind=kind,
            reason=reason,
            path=path,
            size=result.size,
            sha256=result.sha256,
            fingerprint=target.fingerprint,
            created_date=now,
            status="good",
        )
        session.add(record)
        if reason != "safety":
            status_rows.record_success(ctx, session, target, kind, now, result.size)
        session.flush()
    log.info("backup %s of %s %d: %d bytes", kind, target.type, target.id, result.size)
    return record


# A temporary older than this is no running upload's: an outage mid-upload left it, and
# the temporary could not be removed while the storage was down.
ORPHAN_AGE = timedelta(hours=1)


def sweep_temporaries(ctx: BackupContext) -> list[str]:
    """Remove this instance's orphaned upload temporaries; a storage still down is let be."""
    try:
        return ctx.storage.cleanup_temporaries(ORPHAN_AGE, paths.instance_root(ctx.settings))
    except StorageError as exc:
        log.warning("could not look for orphaned temporaries: %s", exc)
        return []


def run_due(ctx: BackupContext) -> RunReport:
    """Back up every due, changed target; one failure never stops the others."""
    report = RunReport()
    now = ctx.clock()
    # Rotation and the sweep act on files every process sees: one process does them.
    if leases.take(ctx, leases.MAINTENANCE, now, maintenance_ttl(ctx)):
        sweep_temporaries(ctx)
    with ctx.db.session() as session:
        statuses = {
            (s.target_type, s.target_id, s.kind): s
            for s in session.scalars(
                select(BackupStatus).where(
                    BackupStatus.target_type.notin_(("instance", leases.LEASE_TYPE))
                )
            )
        }
        session.expunge_all()
    due: list[tuple[Target, str]] = []
    with ctx.db.session() as session:
        for target in target_rows.iter_targets(session):
            for kind in ctx.config.kinds:
                status = status_rows.current(
                    statuses.get((target.type, target.id, kind)), target.uid
                )
                if status is not None and not schedule.is_due(status.next_due, now):
                    continue
                if (
                    status is not None
                    and status.last_success is not None
                    and status.failures == 0
                    and status.last_fingerprint == target.fingerprint
                ):
                    # Unchanged since its last good backup: nothing new to keep.
                    row = status_rows.status_of(session, target.type, target.id, kind, target.uid)
                    row.next_due = schedule.next_after_success(
                        now, ctx.config.tiers[kind], row.last_size
                    )
                    report.unchanged += 1
                    continue
                due.append((target, kind))
    for target, kind in due:
        # Every server and worker may run this pass at once; only one makes each backup.
        if not status_rows.claim(ctx, target.type, target.id, kind, now, target.uid):
            continue
        try:
            make(ctx, target, kind, "scheduled")
            report.made.append((target.type, target.id, kind))
        except Exception as exc:  # noqa: BLE001 - isolate each target
            status_rows.record_failure(
                ctx, target.type, target.id, kind, exc, name=target.name, uid=target.uid
            )
            report.failed.append((target.type, target.id, kind, str(exc)))
    # Asked again: the backups above may have taken longer than the lease.
    if leases.take(ctx, leases.MAINTENANCE, ctx.clock(), maintenance_ttl(ctx)):
        rotated = rotation.rotate(ctx)
        report.deleted, report.warning = rotated.delete, rotated.warning
    return report


def maintenance_ttl(ctx: BackupContext) -> timedelta:
    """How long the maintenance lease holds without renewal: a few scheduler ticks."""
    return max(timedelta(seconds=30), 3 * ctx.config.tick)
