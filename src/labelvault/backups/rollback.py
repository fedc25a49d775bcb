"""Roll one project's annotations back to a time, with a safety backup of the live project first.

The instance as it was at that time is rebuilt in a scratch SQLite database (the newest
snapshot at or before it, then the journal up to it); the project's annotations are written
from there as an annotation-only backup, and that backup is put back in place into the live
project's jobs in one transaction, so a failure leaves the project as it was.
"""

from __future__ import annotations

import logging
import shutil
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from labelvault.backups import archive, journal, periodic, replay, snapshots
from labelvault.backups import targets as target_rows
from labelvault.backups.context import BackupContext
from labelvault.backups.errors import BackupError, BackupNotFound
from labelvault.backups.paths import instance_root
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.projects.models import Project
from labelvault.tasks.models import Job, Task

log = logging.getLogger("labelvault.backups")

Progress = Callable[[float, str], None]


@dataclass
class Points:
    """How far back and forward a rollback can reach in this instance's storage."""

    oldest: datetime | None  # the oldest complete snapshot
    newest: datetime | None  # the newest journaled commit (or the newest snapshot)

    def to_json(self) -> dict[str, Any]:
        return {
            "oldest": self.oldest.isoformat() if self.oldest else None,
            "newest": self.newest.isoformat() if self.newest else None,
        }


@dataclass
class RollbackResult:
    project_id: int
    to: datetime
    jobs_restored: int
    jobs_skipped: int  # in the project then, gone now
    jobs_newer: int  # in the project now, not then: left as they are
    safety_backup_id: int
    snapshot: str
    journal_reached: datetime | None  # the newest journal commit applied (None: the snapshot)

    def to_json(self) -> dict[str, Any]:
        return {
            "project_id": self.project_id,
            "to": self.to.isoformat(),
            "jobs_restored": self.jobs_restored,
            "jobs_skipped": self.jobs_skipped,
            "jobs_newer": self.jobs_newer,
            "safety_backup_id": self.safety_backup_id,
            "snapshot": self.snapshot,
            "journal_reached": self.journal_reached.isoformat() if self.journal_reached else None,
        }

    def message(self) -> str:
        reached = self.journal_reached or self.to
        text = (
            f"Rolled back to {self.to.isoformat()}: {self.jobs_restored} jobs restored, "
            f"{self.jobs_skipped} skipped (gone since); safety backup {self.safety_backup_id}; "
            f"from snapshot {self.snapshot} and the journal up to {reached.isoformat()}"
        )
        if self.jobs_newer:
            text += f"; {self.jobs_newer} jobs made since were left as they are"
        return text


def as_utc(when: datetime) -> datetime:
    """A time without an offset is UTC."""
    return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)


def points(ctx: BackupContext) -> Points:
    instance = instance_root(ctx.settings)
    complete = [s for s in snapshots.list_snapshots(ctx.storage, instance) if s.status == "ok"]
    dated = [s.created for s in complete if s.created is not None]
    if not dated:
        return Points(None, None)
    segments = journal.remote_segments(ctx.storage, instance)
    newest = max([*dated, *(s.last_time for s in segments)])
    return Points(min(dated), newest)


def check(ctx: BackupContext, to: datetime) -> snapshots.SnapshotInfo:
    """Refuse a time the storage cannot bring back; returns the snapshot a rollback starts from."""
    to = as_utc(to)
    now = ctx.clock()
    if to > now:
        raise BackupError(
            f"{to.isoformat()} is in the future (it is now {now.isoformat()}); choose a past time"
        )
    instance = instance_root(ctx.settings)
    complete = [s for s in snapshots.list_snapshots(ctx.storage, instance) if s.status == "ok"]
    dated = [s for s in complete if s.created is not None]
    if not dated:
        raise BackupError(
            f"the storage {ctx.storage.redacted_url} holds no snapshot of this instance yet, so "
            "there is no earlier point to go back to"
        )
    oldest = min(s.created for s in dated)  # type: ignore[type-var]
    if to < oldest:  # type: ignore[operator]
        raise BackupError(
            f"the storage's oldest point is {oldest.isoformat()}; choose a later time"  # type: ignore[union-attr]
        )
    return max((s for s in dated if s.created <= to), key=lambda s: s.created)  # type: ignore[operator,return-value]


def rollback(
    ctx: BackupContext,
    project_id: int,
    to: datetime,
    *,
    progress: Progress | None = None,
    offline: bool = False,
) -> RollbackResult:
    """Put project `project_id`'s annotations back to how they were at `to`.

    `offline`: no server runs on the data dir (the CLI holds its lock), so journal entries
    a stopped server left locally are shipped first.
    """
    say = progress or (lambda _f, _m: None)
    to = as_utc(to)
    with ctx.db.session() as session:
        if session.get(Project, project_id) is None:
            raise BackupNotFound(f"project {project_id} does not exist")
    snap = check(ctx, to)
    say(0.02, "Shipping the annotation journal to the storage")
    if not journal.ship_pending(ctx.settings, ctx.storage, offline=offline):
        raise BackupError(
            "the annotation journal could not be written to the storage, so the latest saves "
            "are not there yet; try again when the storage is reachable"
        )
    work = snapshots.local_tmp(ctx.settings) / f"rollback-{uuid.uuid4().hex}"
    work.mkdir(parents=True)
    try:
        local = work / "annotations.zip"
        reached = _write_past(ctx, snap, project_id, to, work, local, say)
        with ctx.db.session() as session:
            target = target_rows.target(session, "project", project_id)
        say(0.7, "Taking a full backup of the project as it is now")
        safety = periodic.make(ctx, target, "full", "safety")
        say(0.9, "Putting the annotations back into the jobs")
        with ctx.db.session() as session:
            if session.get(Project, project_id) is None:
                raise BackupNotFound(f"project {project_id} was deleted during the rollback")
            counts = archive.restore_annotations_in_place(session, local, project_id=project_id)
            then = {j["id"] for t in archive.read_ids(local)["tasks"] for j in t["jobs"]}
            now_jobs = set(
                session.scalars(
                    select(Job.id)
                    .join(Task, Job.task_id == Task.id)
                    .where(Task.project_id == project_id)
                )
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = RollbackResult(
        project_id=project_id,
        to=to,
        jobs_restored=counts["jobs"],
        jobs_skipped=counts["skipped"],
        jobs_newer=len(now_jobs - then),
        safety_backup_id=safety.id,
        snapshot=snap.name,
        journal_reached=reached,
    )
    say(1.0, result.message())
    log.info("project %d: %s", project_id, result.message())
    return result


def _write_past(
    ctx: BackupContext,
    snap: snapshots.SnapshotInfo,
    project_id: int,
    to: datetime,
    work: Path,
    out: Path,
    say: Progress,
) -> datetime | None:
    """The instance at `to` in a scratch SQLite database, and project's annotations from it
    written to `out`; returns the newest journal commit time applied."""
    instance = instance_root(ctx.settings)
    # Everything named, so nothing of the live instance's environment reaches the scratch one.
    url = f"sqlite:///{work / 'scratch.db'}"
    scratch_settings = Settings(
        data_dir=work / "scratch", database_url=url, instance_name=instance, backups=False
    )
    scratch_settings.ensure_dirs()
    scratch = Database(url)
    try:
        say(0.1, f"Restoring snapshot {snap.name} into a scratch database")
        snapshots.restore_snapshot(
            scratch_settings,
            scratch,
            ctx.storage,
            snap.name,
            progress=lambda m: say(0.2, m),
            replay_journal=False,
            media=False,
        )
        reached = None
        if snap.journal_seq is not None:
            say(0.4, f"Replaying the annotation journal up to {to.isoformat()}")
            report = replay.replay(scratch, ctx.storage, instance, snap.journal_seq, to)
            if report.gap_after is not None:
                raise BackupError(
                    f"the annotation journal has a gap after seq {report.gap_after} (a segment "
                    "is missing or damaged), so the annotations at "
                    f"{to.isoformat()} cannot be rebuilt exactly; choose a time before "
                    f"{(report.last_time or snap.created or to).isoformat()}"
                )
            reached = report.last_time
        with scratch.session() as session:
            if session.get(Project, project_id) is None:
                raise BackupNotFound(f"project {project_id} did not exist at {to.isoformat()}")
            say(0.6, "Writing the project's annotations as they were then")
            with out.open("w+b") as f:
                archive.make_backup(
                    session, "project", project_id, f, "annotations", settings=scratch_settings
                )
        return reached
    finally:
        scratch.dispose()
