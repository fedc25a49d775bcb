"""Background work of the datasets domain: dataset/backup exports, imports and restores."""

from __future__ import annotations

import shutil
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from labelvault.background.service import RESULT_TTL, JobContext, RequestFailed, handler
from labelvault.config import Settings
from labelvault.formats.base import FormatError
from labelvault.formats.registry import FORMATS, get_exporter
from labelvault.formats.safety import safe_extract_zip
from labelvault.media.params import DataError

from . import backup, imports, sources
from .base import ImportFailed
from .cloud_export import upload_result


@contextmanager
def _user_errors() -> Iterator[None]:
    """Errors a user can fix fail the request with their message, not a traceback."""
    try:
        yield
    except (ImportFailed, FormatError, DataError) as exc:
        raise RequestFailed(str(exc)) from exc
    except zipfile.BadZipFile as exc:
        raise RequestFailed(f"the file is not a valid zip archive ({exc})") from exc


def sweep_exports(settings: Settings) -> None:
    """Delete export results older than their expiry, so the disk does not fill up."""
    root = settings.exports_dir
    if not root.is_dir():
        return
    horizon = time.time() - RESULT_TTL.total_seconds()
    for entry in root.iterdir():
        try:
            if entry.stat().st_mtime < horizon:
                shutil.rmtree(entry, ignore_errors=True)
        except FileNotFoundError:
            continue


def _target(ctx: JobContext) -> tuple[str, int]:
    if ctx.job_id is not None:
        return "jobs", ctx.job_id
    if ctx.task_id is not None:
        return "tasks", ctx.task_id
    assert ctx.project_id is not None
    return "projects", ctx.project_id


def _result_file(ctx: JobContext) -> tuple[Path, Path]:
    folder = ctx.settings.exports_dir / ctx.request_id
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / ctx.params["filename"]
    return final, folder / f".{final.name}.part"


def _finish_export(ctx: JobContext, tmp: Path, final: Path, what: str) -> None:
    tmp.rename(final)  # atomic: a download never sees a half-written archive
    if upload_result(ctx, final):
        return
    kind, target_id = _target(ctx)
    ctx.result["result_path"] = str(final)
    ctx.result["result_url"] = f"/api/{kind}/{target_id}/{what}/download?rq_id={ctx.request_id}"


def _export_dataset(ctx: JobContext) -> None:
    sweep_exports(ctx.settings)
    fmt = ctx.params["format"]
    if fmt not in FORMATS or FORMATS[fmt].exporter is None:
        raise RequestFailed(f"unknown export format '{fmt}'; see /api/server/annotation/formats")
    final, tmp = _result_file(ctx)
    with _user_errors():
        if ctx.project_id is not None and ctx.task_id is None:
            source = sources.project_source(ctx.db, ctx.settings, ctx.project_id)
        else:
            assert ctx.task_id is not None
            source = sources.task_source(ctx.db, ctx.settings, ctx.task_id, ctx.job_id)
        ctx.progress(0.0, f"Exporting {source.total_frames} frames as {fmt}")
        try:
            with tmp.open("wb") as out:
                save_images = bool(ctx.params.get("save_images"))
                sources.export_to(source, get_exporter(fmt), out, save_images, ctx.progress)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    _finish_export(ctx, tmp, final, "dataset")


@handler("export:dataset")
def export_dataset(ctx: JobContext) -> None:
    _export_dataset(ctx)


@handler("export:annotations")
def export_annotations(ctx: JobContext) -> None:
    _export_dataset(ctx)


@handler("export:backup")
def export_backup(ctx: JobContext) -> None:
    sweep_exports(ctx.settings)
    final, tmp = _result_file(ctx)
    with _user_errors():
        try:
            with tmp.open("wb") as out:
                if ctx.task_id is not None:
                    backup.export_task(ctx.db, ctx.settings, ctx.task_id, out, ctx.progress)
                else:
                    assert ctx.project_id is not None
                    backup.export_project(ctx.db, ctx.settings, ctx.project_id, out, ctx.progress)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    _finish_export(ctx, tmp, final, "backup")


def _options(ctx: JobContext) -> imports.ImportOptions:
    mode = ctx.params.get("mode") or "replace"
    if mode not in ("replace", "append"):
        raise RequestFailed("import_mode must be 'replace' or 'append'")
    return imports.ImportOptions(
        mode=mode,
        create_labels=bool(ctx.params.get("create_labels")),
        conv_mask_to_poly=bool(ctx.params.get("conv_mask_to_poly")),
    )


def _uploaded(ctx: JobContext) -> Path:
    path = Path(ctx.params["path"])
    if not path.is_file():
        raise RequestFailed("the uploaded file is gone (it expired or was already used)")
    return path


@handler("import:annotations")
def import_annotations(ctx: JobContext) -> None:
    assert ctx.task_id is not None
    path = _uploaded(ctx)
    fmt = ctx.params["format"]
    try:
        with _user_errors():
            options = _options(ctx)
            ctx.progress(0.05, f"Reading {path.name} as {fmt}")
            lookup = imports.frame_size_lookup(ctx.db, ctx.task_id)
            if zipfile.is_zipfile(path):
                with _extracted(ctx.settings, path) as root:
                    dataset = imports.open_imported(fmt, root, frame_size=lookup)
                    summary = imports.import_into_task(
                        ctx.db,
                        ctx.task_id,
                        dataset,
                        job_id=ctx.job_id,
                        options=options,
                        progress=ctx.progress,
                    )
            else:
                dataset = imports.open_imported(fmt, path, frame_size=lookup)
                summary = imports.import_into_task(
                    ctx.db,
                    ctx.task_id,
                    dataset,
                    job_id=ctx.job_id,
                    options=options,
                    progress=ctx.progress,
                )
        ctx.result["message"] = summary.message()
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@contextmanager
def _extracted(settings: Settings, archive: Path) -> Iterator[Path]:
    import tempfile

    with tempfile.TemporaryDirectory(dir=settings.uploads_dir, prefix="import-") as tmp:
        yield safe_extract_zip(archive, Path(tmp))


@handler("import:dataset")
def import_dataset(ctx: JobContext) -> None:
    if ctx.project_id is None or ctx.task_id is not None:
        import_annotations(ctx)
        return
    path = _uploaded(ctx)
    try:
        with _user_errors():
            created = imports.import_project_dataset(
                ctx.db,
                ctx.settings,
                ctx.project_id,
                ctx.params["format"],
                path,
                ctx.owner_id,
                _options(ctx),
                ctx.progress,
            )
        ctx.result["message"] = f"Created {len(created)} tasks"
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)


@handler("import:backup")
def import_backup(ctx: JobContext) -> None:
    path = _uploaded(ctx)
    owner = ctx.owner_id or 0
    try:
        with _user_errors():
            restore = (
                backup.restore_project
                if ctx.params.get("target") == "project"
                else backup.restore_task
            )
            new_id = restore(ctx.db, ctx.settings, path, owner, ctx.progress)
        org_id = ctx.params.get("organization_id")
        if org_id is not None:
            # Restored into the organization the upload was made in (its tasks follow).
            is_project = ctx.params.get("target") == "project"
            backup.move_to_organization(ctx.db, org_id, new_id, is_project)
        ctx.result["result_id"] = new_id
    finally:
        shutil.rmtree(path.parent, ignore_errors=True)
