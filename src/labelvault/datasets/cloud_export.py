"""Exports written to a cloud storage (`location=cloud_storage&cloud_storage_id=N`), as CVAT."""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import Request
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.background.service import JobContext, RequestFailed
from labelvault.cloudstorages.registry import CloudStorages
from labelvault.errors import Invalid, LabelVaultError, NotFound

_NAME = re.compile(r"^[^/\\\x00]{1,254}$")


def export_target(request: Request, session: Session, user: User) -> dict[str, object]:
    """The request params saying where an export goes: {} for a download, else the
    cloud storage (one the user may see) and the file name in it."""
    query = request.query_params
    location = query.get("location") or "local"
    if location == "local":
        return {}
    if location != "cloud_storage":
        raise Invalid({"location": [f"'{location}' is not one of: local, cloud_storage"]})
    raw = query.get("cloud_storage_id") or ""
    if not raw.isdecimal():
        raise Invalid({"cloud_storage_id": ["location=cloud_storage needs cloud_storage_id=<id>"]})
    cloud_id = int(raw)
    clouds: CloudStorages = request.app.state.cloud_storages
    if not clouds.may_use(session, user, cloud_id):
        raise NotFound(f"cloud storage #{cloud_id} does not exist, or you may not use it")
    out: dict[str, object] = {"cloud_storage_id": cloud_id}
    name = (query.get("filename") or "").strip()
    if name:
        # CVAT writes the file at this key; a path inside the storage is allowed, but
        # never one that climbs out of its prefix.
        parts = name.split("/")
        if any(p in ("", ".", "..") for p in parts) or not all(_NAME.match(p) for p in parts):
            raise Invalid({"filename": [f"'{name}' is not a file name in a cloud storage"]})
        out["cloud_filename"] = name
    return out


def upload_result(ctx: JobContext, final: Path) -> bool:
    """Put a finished export into its cloud storage (all or nothing) and drop the local
    file; False when the export is a download. The request then has no result_url, as in
    CVAT, and its message says where the file went."""
    cloud_id = ctx.params.get("cloud_storage_id")
    if cloud_id is None:
        return False
    name = str(ctx.params.get("cloud_filename") or final.name)
    try:
        storage = CloudStorages(ctx.db, ctx.settings).storage(int(cloud_id))
        with final.open("rb") as handle:
            storage.write_atomic(name, handle, size=final.stat().st_size)
    except LabelVaultError as exc:
        raise RequestFailed(
            f"the export could not be written to cloud storage #{cloud_id}: {exc}"
        ) from None
    finally:
        final.unlink(missing_ok=True)
    ctx.result["result_path"] = None
    ctx.result["result_url"] = None
    ctx.result["message"] = f"Exported to cloud storage #{cloud_id} as {name}"
    return True
