"""Per-target schedule state (backup_status rows): read, record outcomes, report for the API."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from labelvault.backups import schedule
from labelvault.backups.config import BackupConfig
from labelvault.backups.context import BackupContext
from labelvault.backups.models import BackupRecord, BackupStatus
from labelvault.backups.targets import Target

log = logging.getLogger("labelvault.backups")


def status_of(
    session: Session, target_type: str, target_id: int, kind: str, uid: str | None = None
) -> BackupStatus:
    """The row of one target and kind, created empty when it does not exist yet.

    A row another target left under the same id (a deleted project whose id was given
    again) starts over empty: its name, dates and errors are not the new target's.
    """
    row = session.get(BackupStatus, (target_type, target_id, kind))
    if row is None:
        row = BackupStatus(target_type=target_type, target_id=target_id, kind=kind)
        session.add(row)
        _reset(row, uid)
    elif uid is not None and row.target_uid != uid:
        _reset(row, uid)
    return row


def _reset(row: BackupStatus, uid: str | None) -> None:
    row.target_uid = uid
    row.target_name = ""
    row.last_error = ""
    row.failures = 0
    row.last_fingerprint = ""
    row.warning = row.warning or ""
    row.last_attempt = row.last_success = row.last_failure = row.next_due = None
    row.last_size = None


# How long a claimed backup is held: a process killed mid-backup leaves its claim, and the
# target is tried again by any process once this has passed.
CLAIM_LEASE = timedelta(hours=1)


def claim(
    ctx: BackupContext,
    target_type: str,
    target_id: int,
    kind: str,
    now: datetime,
    uid: str | None = None,
) -> bool:
    """Take one due target and kind for this process: True for exactly one of any number
    of schedulers (servers, workers) that try at once.

    One atomic UPDATE ... WHERE still-due moves the due time a lease ahead; whoever's
    update matched the row does the backup, the others see it is no longer due. A row
    another target left under the id is reset the same way (only one reset matches).
    """
    key = (
        BackupStatus.target_type == target_type,
        BackupStatus.target_id == target_id,
        BackupStatus.kind == kind,
    )
    with ctx.db.session() as session:
        if session.get(BackupStatus, (target_type, target_id, kind)) is None:
            try:
                with session.begin_nested():
                    row = BackupStatus(target_type=target_type, target_id=target_id, kind=kind)
                    _reset(row, uid)
                    session.add(row)
            except IntegrityError:
                pass  # another scheduler made it at the same moment: it exists now
    if uid is not None:
        with ctx.db.session() as session:
            session.execute(
                update(BackupStatus)
                .where(*key, or_(BackupStatus.target_uid.is_(None), BackupStatus.target_uid != uid))
                .values(_RESET | {"target_uid": uid})
                .execution_options(synchronize_session=False)
            )
    with ctx.db.session() as session:
        result = session.execute(
            update(BackupStatus)
            .where(*key, or_(BackupStatus.next_due.is_(None), BackupStatus.next_due <= now))
            .values(next_due=now + CLAIM_LEASE)
            .execution_options(synchronize_session=False)
        )
        return result.rowcount == 1


_RESET = {
    "target_name": "",
    "last_error": "",
    "failures": 0,
    "last_fingerprint": "",
    "last_attempt": None,
    "last_success": None,
    "last_failure": None,
    "next_due": None,
    "last_size": None,
}


def current(row: BackupStatus | None, uid: str | None) -> BackupStatus | None:
    """The row when it is this target's; None when another target under the id left it."""
    if row is None or (uid is not None and row.target_uid != uid):
        return None
    return row


def status_row(
    ctx: BackupContext, target_type: str, target_id: int, kind: str
) -> BackupStatus | None:
    """The schedule state of one target and kind, detached from any session."""
    with ctx.db.session() as session:
        row = session.get(BackupStatus, (target_type, target_id, kind))
        if row is not None:
            session.expunge(row)
        return row


def record_success(
    ctx: BackupContext, session: Session, target: Target, kind: str, now: datetime, size: int
) -> None:
    status = status_of(session, target.type, target.id, kind, target.uid)
    status.target_name = target.name
    status.last_attempt = now
    status.last_success = now
    status.last_size = size
    status.last_fingerprint = target.fingerprint
    status.failures = 0
    status.last_error = ""
    status.next_due = schedule.next_after_success(now, ctx.config.tiers[kind], size)


def record_failure(
    ctx: BackupContext,
    target_type: str,
    target_id: int,
    kind: str,
    exc: BaseException,
    *,
    name: str | None = None,
    uid: str | None = None,
) -> None:
    """Count a failure and back off; the next attempt waits longer each time."""
    now = ctx.clock()
    message = str(exc) or type(exc).__name__
    with ctx.db.session() as session:
        status = status_of(session, target_type, target_id, kind, uid)
        if name is not None:
            status.target_name = name
        status.last_attempt = now
        status.last_failure = now
        status.failures = (status.failures or 0) + 1
        status.last_error = message[:2000]
        status.next_due = schedule.next_after_failure(
            now, status.failures, ctx.config.retry_base, ctx.config.retry_max
        )
    log.warning("backup %s of %s %d failed: %s", kind, target_type, target_id, message)


def set_warning(session: Session, warning: str) -> None:
    """The quota warning goes on every status row so the API and UI show it."""
    for status in session.scalars(select(BackupStatus)):
        status.warning = warning


def status_json(
    session: Session, config: BackupConfig, visible: set[tuple[str, str]] | None = None
) -> dict:
    """Per-target status for /api/backups/status; `visible` limits it to some targets,
    given as (target_type, uid): a row is shown only while its uid is a visible target's."""
    rows = list(
        session.scalars(
            # "periodic" rows are leases on periodic work (leases.py), not a target's.
            select(BackupStatus)
            .where(BackupStatus.target_type != "periodic")
            .order_by(BackupStatus.target_type, BackupStatus.target_id, BackupStatus.kind)
        )
    )
    used = session.scalar(select(func.coalesce(func.sum(BackupRecord.size), 0))) or 0
    out = []
    warning = ""
    for row in rows:
        warning = warning or row.warning
        if visible is not None and (row.target_type, row.target_uid) not in visible:
            continue
        out.append(
            {
                "target_type": row.target_type,
                "target_id": row.target_id,
                "project_id": row.target_id if row.target_type == "project" else None,
                "task_id": row.target_id if row.target_type == "task" else None,
                "name": row.target_name,
                "kind": row.kind,
                "last_success": iso_or_none(row.last_success),
                "last_failure": iso_or_none(row.last_failure),
                "last_error": row.last_error or None,
                "failures": row.failures,
                "next_due": iso_or_none(row.next_due),
                "last_size": row.last_size,
            }
        )
    return {
        "quota": config.quota,
        "used": int(used),
        "warning": warning or None,
        "results": out,
    }


def iso_or_none(value: datetime | None) -> str | None:
    """One format on every database, CVAT's: ISO 8601 in UTC with "Z".

    SQLite hands back naive UTC values and PostgreSQL aware ones in the session's zone;
    both print alike (cvat-sdk parses either with dateutil).
    """
    if value is None:
        return None
    return schedule.aware(value).astimezone(UTC).isoformat().replace("+00:00", "Z")
