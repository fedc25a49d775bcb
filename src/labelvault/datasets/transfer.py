"""The HTTP side of exports, imports and restores: receive uploads, start requests, serve files."""

from __future__ import annotations

import json
import re
import shutil
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.accounts.models import User
from labelvault.background import service as background
from labelvault.background.models import Request as BgRequest
from labelvault.config import Settings
from labelvault.db.base import utcnow
from labelvault.errors import Invalid, LabelVaultError, NotFound
from labelvault.formats.registry import FORMATS
from labelvault.http import parse_bool, settings_of
from labelvault.media.uploads import UploadArea, safe_relative, upload_kind
from labelvault.projects.models import Project
from labelvault.tasks.models import Task

from .cloud_export import export_target

# Small work runs inside the request, so the SDK's first poll already sees "finished"
# and it never sleeps; bigger work goes to the queue.
INLINE_FRAMES = 300
INLINE_BYTES = 16 * 1024 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9_\-. ]+")


def download_name(*parts: str) -> str:
    """A file name cvat-cli accepts: [A-Za-z0-9_-. ], no leading dot, ≤254 characters."""
    stem = _UNSAFE.sub("_", "_".join(p for p in parts if p)).strip(" ._") or "export"
    return f"{stem[:200]}.zip"


def _accepted(rq_id: str) -> Response:
    return Response(json.dumps({"rq_id": rq_id}), status_code=202, media_type="application/json")


async def _run(request: Request, rq_id: str, inline: bool) -> Response:
    app = request.app
    if inline:
        await run_in_threadpool(background.execute, app.state.db, app.state.settings, rq_id)
    else:
        app.state.queue.enqueue(rq_id)
    return _accepted(rq_id)


# ---- export ---------------------------------------------------------------------------------


def _export_format(request: Request) -> str:
    fmt = request.query_params.get("format") or ""
    entry = FORMATS.get(fmt)
    if entry is None or entry.exporter is None:
        names = ", ".join(f for f, e in FORMATS.items() if e.exporter)
        raise Invalid(f"unknown export format '{fmt}'; use one of: {names}")
    return fmt


async def start_export(
    request: Request,
    session: Session,
    user: User,
    *,
    target: str,
    ids: dict[str, int | None],
    name: str,
    frames: int,
    backup: bool,
) -> Response:
    """Queue (or run inline, if small) a dataset or backup export; answers 202 with rq_id."""
    where = export_target(request, session, user)
    if backup:
        operation, fmt, save_images = "export:backup", None, True
        filename = download_name(target, str(ids[f"{target}_id"]), name, "backup")
    else:
        fmt = _export_format(request)
        save_images = parse_bool(request.query_params.get("save_images"), False)
        operation = "export:dataset" if save_images else "export:annotations"
        kind = "dataset" if save_images else "annotations"
        filename = download_name(
            target, str(ids[f"{target}_id"]), name, kind, fmt.lower().replace(" ", "_")
        )
    session.commit()
    rq_id = background.create(
        request.app.state.db,
        operation=operation,
        target=target,
        owner_id=user.id,
        params={"format": fmt, "save_images": save_images, "filename": filename, **where},
        format=fmt,
        **ids,
    )
    return await _run(request, rq_id, frames <= INLINE_FRAMES)


def project_frames(session: Session, project: Project) -> int:
    total = session.scalar(select(func.sum(Task.size)).where(Task.project_id == project.id))
    return int(total or 0)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def download(session: Session, user: User, rq_id: str | None, where: dict[str, Any]) -> Response:
    """The file of the user's finished export request matching `where` (410 once expired)."""
    if not rq_id:
        raise Invalid("rq_id is required: use the result_url of the export request")
    row = session.get(BgRequest, rq_id)
    if (
        row is None
        or (not user.is_admin and row.owner_id != user.id)
        or not row.operation.startswith("export:")
        or any(getattr(row, k) != v for k, v in where.items())
    ):
        raise NotFound.of("Export")
    if row.status != "finished":
        raise Invalid(f"the export is {row.status}, not finished; poll /api/requests/{rq_id}")
    path = Path(row.result_path or "")
    expired = row.finished_date is not None and utcnow() - _aware(row.finished_date) > (
        background.RESULT_TTL
    )
    if expired or not path.is_file():
        raise LabelVaultError("the export has expired; export again", 410)
    return FileResponse(
        path,
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{path.name}"'},
    )


# ---- uploads (import and restore) -------------------------------------------------------


def tus_area(settings: Settings, key: str) -> UploadArea:
    return UploadArea(settings.uploads_dir, key)


def _hold(settings: Settings, source: Path) -> Path:
    """Move a finished upload into a folder of its own that the request will delete."""
    folder = settings.uploads_dir / f"request-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    target = folder / source.name
    shutil.move(str(source), target)
    return target


async def _receive(
    request: Request,
    area: UploadArea,
    chunk_base: str,
    field: str,
) -> Response | Path:
    """Handle one request of the header-multiplexed upload protocol.

    Returns a response for Upload-Start and TUS create, or the received file's path once
    the upload is complete (Upload-Finish, or a plain multipart upload).
    """
    settings = settings_of(request)
    kind = upload_kind(request)
    if kind == "start":
        area.reset()
        return Response(status_code=202)
    if kind == "tus":
        return area.tus_create(request, chunk_base, settings.max_upload_bytes)
    if kind == "finish":
        name = request.query_params.get("filename")
        if not name:
            files = area.files()
            if len(files) != 1:
                raise Invalid("filename is required: the Upload-Filename of the TUS upload")
            name = files[0].name
        path = _hold(settings, area.take(name))
        area.discard()
        return path
    content_type = request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise Invalid(
            f"send the file as multipart '{field}', or upload it with Upload-Start/TUS/"
            "Upload-Finish"
        )
    form = await request.form()
    part = form.get(field)
    if part is None or not hasattr(part, "filename"):
        raise Invalid(f"the multipart body has no file field '{field}'")
    folder = settings.uploads_dir / f"request-{uuid.uuid4().hex}"
    folder.mkdir(parents=True)
    target = folder / safe_relative(part.filename or field)  # type: ignore[union-attr]
    with target.open("wb") as out:
        while chunk := await part.read(1 << 20):  # type: ignore[union-attr]
            out.write(chunk)
    return target


def _import_format(request: Request) -> str:
    fmt = request.query_params.get("format") or ""
    entry = FORMATS.get(fmt)
    if entry is None or entry.importer is None:
        names = ", ".join(f for f, e in FORMATS.items() if e.importer)
        raise Invalid(f"unknown import format '{fmt}'; use one of: {names}")
    return fmt


def _import_params(request: Request, path: Path, fmt: str) -> dict[str, Any]:
    query = request.query_params
    return {
        "format": fmt,
        "path": str(path),
        "mode": query.get("import_mode") or "replace",
        "create_labels": parse_bool(query.get("create_labels"), False),
        "conv_mask_to_poly": parse_bool(query.get("conv_mask_to_poly"), False),
    }


async def start_import(
    request: Request,
    session: Session,
    user: User,
    *,
    area_key: str,
    chunk_base: str,
    field: str,
    operation: str,
    target: str,
    ids: dict[str, int | None],
) -> Response:
    """One step of an import upload; once the file is complete, its import request."""
    kind = upload_kind(request)
    fmt = _import_format(request) if kind in ("finish", "plain") else ""
    area = tus_area(settings_of(request), area_key)
    result = await _receive(request, area, chunk_base, field)
    if isinstance(result, Response):
        return result
    session.commit()
    rq_id = background.create(
        request.app.state.db,
        operation=operation,
        target=target,
        owner_id=user.id,
        params=_import_params(request, result, fmt),
        format=fmt,
        **ids,
    )
    return await _run(request, rq_id, result.stat().st_size <= INLINE_BYTES)


async def start_restore(request: Request, session: Session, user: User, target: str) -> Response:
    """One step of a backup upload; once the file is complete, its restore request."""
    area = tus_area(settings_of(request), f"user-{user.id}-{target}-backup")
    result = await _receive(request, area, f"/api/{target}s/backup", f"{target}_file")
    if isinstance(result, Response):
        return result
    session.commit()
    rq_id = background.create(
        request.app.state.db,
        operation="import:backup",
        target=target,
        owner_id=user.id,
        params={
            "path": str(result),
            "target": target,
            "organization_id": permissions.creation_org_id(user),
        },
    )
    return await _run(request, rq_id, result.stat().st_size <= INLINE_BYTES)
