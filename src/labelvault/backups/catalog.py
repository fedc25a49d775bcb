"""The backup catalog: records of stored backups, kept true to the storage's listing."""

from __future__ import annotations

import contextlib
import hashlib
from datetime import datetime
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.backups import paths
from labelvault.backups.context import BackupContext
from labelvault.backups.errors import BackupIntegrityError, BackupNotFound
from labelvault.backups.models import BackupRecord
from labelvault.backups.status import iso_or_none
from labelvault.storage import StorageNotFoundError


def sidecar_of(path: str) -> str:
    """The JSON beside a backup zip: its metadata, written last (its presence commits it)."""
    return path[: -len(".zip")] + ".json"


def existing_user(session: Session, user_id: int | None) -> int | None:
    return user_id if user_id is not None and session.get(User, user_id) else None


def get(ctx: BackupContext, record_id: int) -> BackupRecord:
    with ctx.db.session() as session:
        record = session.get(BackupRecord, record_id)
        if record is None:
            raise BackupNotFound(f"backup {record_id} does not exist")
        return record


def delete_files(ctx: BackupContext, path: str) -> None:
    for name in (path, sidecar_of(path)):
        with contextlib.suppress(StorageNotFoundError):
            ctx.periodic.delete(name)


def delete(ctx: BackupContext, record_id: int) -> None:
    record = get(ctx, record_id)
    delete_files(ctx, record.path)
    with ctx.db.session() as session:
        row = session.get(BackupRecord, record_id)
        if row is not None:
            session.delete(row)


def listed(ctx: BackupContext) -> dict[str, int]:
    """This instance's backup files as the storage lists them now: path -> size."""
    try:
        return {e.path: e.size for e in ctx.periodic.walk()}
    except StorageNotFoundError:
        return {}


def reconcile(ctx: BackupContext) -> dict[str, int]:
    """Make the catalog match the storage: drop records of missing files, adopt backups
    whose upload finished but whose record a crash never wrote.

    Only this instance's prefix is listed, so another instance's files are never adopted.
    """
    try:
        entries = list(ctx.periodic.walk())
    except StorageNotFoundError:
        entries = []
    files = {e.path: e for e in entries}
    adopted = dropped = 0
    with ctx.db.session() as session:
        known = {r.path: r for r in session.scalars(select(BackupRecord))}
        for path, record in known.items():
            if path not in files:
                session.delete(record)
                dropped += 1
        for path in files:
            if not path.endswith(".zip") or path in known:
                continue
            sidecar = sidecar_of(path)
            if sidecar not in files:
                continue  # a sidecar is written last: without it the backup is unverified
            meta = orjson.loads(ctx.periodic.read_bytes(sidecar))
            session.add(
                BackupRecord(
                    target_type=meta["target_type"],
                    target_id=meta["target_id"],
                    target_uid=meta.get("target_uid"),
                    target_name=meta.get("target_name", ""),
                    owner_id=existing_user(session, meta.get("owner_id")),
                    kind=meta["kind"],
                    reason=meta.get("reason", "scheduled"),
                    path=path,
                    size=meta["size"],
                    sha256=meta["sha256"],
                    fingerprint=meta.get("fingerprint", ""),
                    created_date=datetime.fromisoformat(meta["created"]),
                    status="good",
                )
            )
            adopted += 1
    return {"adopted": adopted, "dropped": dropped}


def fetch_verified(ctx: BackupContext, record: BackupRecord, target: Path) -> None:
    """Download a backup to `target`; a checksum mismatch marks it corrupt and raises."""
    digest = hashlib.sha256()
    size = 0
    with target.open("wb") as out:
        for chunk in ctx.periodic.iter_bytes(record.path):
            digest.update(chunk)
            size += len(chunk)
            out.write(chunk)
    if (size, digest.hexdigest()) != (record.size, record.sha256):
        with ctx.db.session() as session:
            row = session.get(BackupRecord, record.id)
            if row is not None:
                row.status = "corrupt"
        raise BackupIntegrityError(
            f"backup {record.id} ({record.path}) is corrupted: checksum mismatch (catalog: "
            f"{record.size} bytes, sha256 {record.sha256}; storage: {size} bytes, sha256 "
            f"{digest.hexdigest()}); it was not restored"
        )


def record_json(record: BackupRecord, root: str = paths.PERIODIC_DIR) -> dict[str, Any]:
    """The API shape of a record; `root` is the periodic folder it is relative to."""
    return {
        "id": record.id,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "project_id": record.target_id if record.target_type == "project" else None,
        "task_id": record.target_id if record.target_type == "task" else None,
        "name": record.target_name,
        "kind": record.kind,
        "reason": record.reason,
        "path": f"{root}/{record.path}",
        "size": record.size,
        "sha256": record.sha256,
        "status": record.status,
        "created_date": iso_or_none(record.created_date),
        "owner_id": record.owner_id,
    }
