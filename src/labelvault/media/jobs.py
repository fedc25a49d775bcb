"""Background work of the media domain: creating a task's data from uploaded files."""

from __future__ import annotations

from sqlalchemy import update

from labelvault.background.service import JobContext, RequestFailed, handler
from labelvault.media import service
from labelvault.media.uploads import UploadArea
from labelvault.tasks.models import Task


def upload_area(settings, task_id: int) -> UploadArea:  # type: ignore[no-untyped-def]
    return UploadArea(settings.uploads_dir, f"task-{task_id}-data")


@handler("create:task")
def create_task_data(ctx: JobContext) -> None:
    assert ctx.task_id is not None
    area = upload_area(ctx.settings, ctx.task_id)
    try:
        params = service.DataParams.from_request(ctx.params)
        files = area.files()
        # Keep the order files arrived in: "predefined" sorting without upload_file_order
        # means the client's upload order.
        arrival = {name: i for i, name in enumerate(area.order())}
        files.sort(key=lambda f: (arrival.get(f.name, len(arrival)), f.name))
        ctx.progress(0.0, f"Preparing {len(files)} files")
        count = service.create_data(
            ctx.db.session, ctx.settings, ctx.task_id, files, params, ctx.progress
        )
        ctx.result["message"] = f"Created {count} frames"
    except service.DataError as exc:
        _reset(ctx)
        raise RequestFailed(str(exc)) from exc
    except BaseException:
        _reset(ctx)
        raise
    finally:
        area.discard()


def _reset(ctx: JobContext) -> None:
    with ctx.db.session() as session:
        session.execute(
            update(Task)
            .where(Task.id == ctx.task_id, Task.data_state != "ready")
            .values(data_state="none")
        )
