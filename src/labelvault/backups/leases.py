"""Leases on periodic work (rotation, orphan sweep, snapshot watcher): one holder at a time.

Every server and worker may run the periodic passes; a pass whose work must happen once
(deleting rotated backups, removing orphaned temporaries, deciding a change snapshot) first
takes the lease in the database. The holder renews it on every pass; when it stops or dies,
another process takes over once the lease ran out. The lease is a backup_status row of
target type "periodic" (no table of its own), and the API's status list leaves those out.
"""

from __future__ import annotations

import os
import socket
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.exc import IntegrityError

from labelvault.backups.context import BackupContext
from labelvault.backups.models import BackupStatus

LEASE_TYPE = "periodic"
MAINTENANCE = "maintenance"  # rotation and the orphan sweep
WATCHER = "snapshot-watch"


def holder() -> str:
    """This process, as the lease names it (the pid is read each time: workers fork)."""
    return f"{socket.gethostname()}:{os.getpid()}"


def take(
    ctx: BackupContext, name: str, now: datetime, ttl: timedelta, me: str | None = None
) -> bool:
    """Take or renew the lease `name` until now + ttl: True for its one holder.

    One atomic UPDATE ... WHERE (free, run out, or already mine) decides, so of any number
    of processes trying at once exactly one gets it.
    """
    me = me or holder()
    key = (
        BackupStatus.target_type == LEASE_TYPE,
        BackupStatus.target_id == 0,
        BackupStatus.kind == name,
    )
    with ctx.db.session() as session:
        if session.get(BackupStatus, (LEASE_TYPE, 0, name)) is None:
            try:
                with session.begin_nested():
                    session.add(
                        BackupStatus(
                            target_type=LEASE_TYPE,
                            target_id=0,
                            kind=name,
                            target_name="",
                            last_error="",
                            failures=0,
                            last_fingerprint="",
                            warning="",
                        )
                    )
            except IntegrityError:
                pass  # another process made it at the same moment
    with ctx.db.session() as session:
        result = session.execute(
            update(BackupStatus)
            .where(
                *key,
                or_(
                    BackupStatus.next_due.is_(None),
                    BackupStatus.next_due <= now,
                    BackupStatus.target_name == me,
                ),
            )
            .values(next_due=now + ttl, target_name=me, last_attempt=now)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


def release(ctx: BackupContext, name: str, me: str | None = None) -> None:
    """Give the lease up (on shutdown), so another process takes over at its next pass."""
    me = me or holder()
    with ctx.db.session() as session:
        session.execute(
            update(BackupStatus)
            .where(
                BackupStatus.target_type == LEASE_TYPE,
                BackupStatus.target_id == 0,
                BackupStatus.kind == name,
                BackupStatus.target_name == me,
            )
            .values(next_due=None)
            .execution_options(synchronize_session=False)
        )


def baseline(ctx: BackupContext, name: str) -> str:
    """What the lease's last holder recorded as seen (the watcher's fingerprint)."""
    with ctx.db.session() as session:
        row = session.get(BackupStatus, (LEASE_TYPE, 0, name))
        return row.last_fingerprint if row is not None else ""


def record_baseline(ctx: BackupContext, name: str, fingerprint: str) -> None:
    with ctx.db.session() as session:
        row = session.get(BackupStatus, (LEASE_TYPE, 0, name))
        if row is not None:
            row.last_fingerprint = fingerprint
