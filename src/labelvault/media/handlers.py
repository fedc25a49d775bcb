"""Background work of the media domain: creating or appending a task's data from any source."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update

from labelvault.background.service import JobContext, RequestFailed, handler
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.media import ingest, sources
from labelvault.media.layout import upload_area
from labelvault.media.params import DataError, DataParams
from labelvault.media.sources import CloudResolver
from labelvault.tasks.models import Task

# Share of the progress bar that downloading remote files takes.
DOWNLOAD_SHARE = 0.4

# Opens the cloud storages for one request; the app (or worker) passes the cloudstorages
# domain's registry, so media does not import it.
CloudsFor = Callable[[Database, Settings], CloudResolver]


def register(clouds_for: CloudsFor) -> None:
    """Register media's handlers with the queue (app.py and the worker call this)."""
    handler("create:task")(lambda ctx: create_task_data(ctx, clouds_for))


def create_task_data(ctx: JobContext, clouds_for: CloudsFor) -> None:
    assert ctx.task_id is not None
    area = upload_area(ctx.settings, ctx.task_id)
    append = bool(ctx.params.get("append"))
    try:
        params = DataParams.from_request(ctx.params)
        clouds = None
        if params.cloud_storage_id is not None:
            clouds = clouds_for(ctx.db, ctx.settings)
        files = area.files()
        # Keep the order files arrived in: "predefined" sorting without upload_file_order
        # means the client's upload order.
        arrival = {name: i for i, name in enumerate(area.order())}
        files.sort(key=lambda f: (arrival.get(f.name, len(arrival)), f.name))
        progress = ctx.progress
        if params.remote_files:
            total = len(params.remote_files)
            ctx.progress(0.0, f"Downloading {total} files")
            files += sources.download_remote(
                ctx.settings,
                params.remote_files,
                area.dir / ".remote",
                lambda done, name: ctx.progress(
                    DOWNLOAD_SHARE * done / total, f"Downloaded {done} of {total}: {name}"
                ),
            )

            def progress(fraction: float, message: str) -> None:
                ctx.progress(DOWNLOAD_SHARE + (1 - DOWNLOAD_SHARE) * fraction, message)

        source_files = None
        if params.server_files:
            if params.cloud_storage_id is not None:
                storage = sources.cloud_storage(clouds, params.cloud_storage_id)
                source_files = sources.expand_cloud(
                    storage, params.cloud_storage_id, params.server_files
                )
            else:
                source_files = sources.expand_share(ctx.settings, params.server_files)
        progress(0.0, f"Preparing {len(files) + len(source_files or [])} files")
        skipped: list[str] = []
        count = ingest.create_data(
            ctx.db.session,
            ctx.settings,
            ctx.task_id,
            files,
            params,
            progress,
            source_files=source_files,
            skipped=skipped,
            clouds=clouds,
        )
        verb = "Appended" if params.append else "Created"
        message = f"{verb} {count} frames"
        if skipped:
            shown = "; ".join(skipped[:20])
            more = f"; and {len(skipped) - 20} more" if len(skipped) > 20 else ""
            message += f"; skipped {len(skipped)} files: {shown}{more}"
        ctx.result["message"] = message
    except (DataError, sources.SourceError) as exc:
        _reset(ctx, append)
        raise RequestFailed(str(exc)) from exc
    except BaseException:
        _reset(ctx, append)
        raise
    finally:
        area.discard()


def _reset(ctx: JobContext, append: bool) -> None:
    if append:
        return  # the task keeps the data it had
    with ctx.db.session() as session:
        session.execute(
            update(Task)
            .where(Task.id == ctx.task_id, Task.data_state != "ready")
            .values(data_state="none")
        )
