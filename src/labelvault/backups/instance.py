"""Whole-instance snapshots with their status row: on demand, on a schedule, on exit."""

from __future__ import annotations

from labelvault.backups import paths, schedule, snapshots
from labelvault.backups.context import BackupContext
from labelvault.backups.status import claim, status_of
from labelvault.backups.targets import instance_fingerprint


def snapshot_if_due(ctx: BackupContext, *, force: bool = False) -> snapshots.SnapshotInfo | None:
    """A scheduled snapshot when the interval has passed and anything changed."""
    now = ctx.clock()
    with ctx.db.session() as session:
        status = status_of(session, "instance", 0, "snapshot")
        fingerprint = instance_fingerprint(session)
        # An unchanged instance keeps its past due time, so the first change after it is
        # saved at the next tick: a crash loses at most one interval of work.
        due = force or schedule.is_due(status.next_due, now)
        changed = status.last_fingerprint != fingerprint
    if not (due and changed):
        return None
    if not force and not claim(ctx, "instance", 0, "snapshot", now):
        return None  # another server or worker writes this one
    return snapshot(ctx, "scheduled", fingerprint=fingerprint)


def snapshot(
    ctx: BackupContext, reason: str, fingerprint: str | None = None
) -> snapshots.SnapshotInfo:
    """Write a snapshot now, record the outcome, then prune the oldest beyond `snapshot_keep`."""
    now = ctx.clock()
    with ctx.db.session() as session:
        fingerprint = fingerprint or instance_fingerprint(session)
    try:
        info = snapshots.create_snapshot(ctx.settings, ctx.db, ctx.storage, reason=reason, now=now)
    except Exception as exc:
        with ctx.db.session() as session:
            status = status_of(session, "instance", 0, "snapshot")
            status.last_attempt = status.last_failure = now
            status.failures = (status.failures or 0) + 1
            status.last_error = str(exc)[:2000]
            status.next_due = schedule.next_after_failure(
                now, status.failures, ctx.config.retry_base, ctx.config.retry_max
            )
        raise
    with ctx.db.session() as session:
        status = status_of(session, "instance", 0, "snapshot")
        status.target_name = "instance"
        status.last_attempt = status.last_success = now
        status.last_size = info.size
        status.last_fingerprint = fingerprint
        status.failures = 0
        status.last_error = ""
        status.next_due = now + ctx.config.snapshot_interval
    snapshots.prune_snapshots(
        ctx.storage, ctx.config.snapshot_keep, paths.instance_root(ctx.settings)
    )
    return info
