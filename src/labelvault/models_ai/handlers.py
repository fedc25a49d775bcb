"""Background work of models: an automatic-annotation request over a task's or job's frames."""

from __future__ import annotations

import time

from sqlalchemy import select

from labelvault.annotations import service as annotations
from labelvault.background.models import Request
from labelvault.background.service import JobContext, RequestFailed, handler
from labelvault.errors import LabelVaultError
from labelvault.models_ai import runs
from labelvault.models_ai.models import Model
from labelvault.tasks.models import Job, Task

OPERATION = "annotate:task"
CANCELLED = "Cancelled by the user."
REPORT_EVERY = 0.5  # seconds between progress reports (and looks for a cancel)


def _cancelled(ctx: JobContext) -> bool:
    with ctx.db.session() as session:
        status = session.scalar(select(Request.status).where(Request.id == ctx.request_id))
    return status != "started"


@handler(OPERATION)
def annotate(ctx: JobContext) -> None:
    assert ctx.task_id is not None
    params = ctx.params
    with ctx.db.session() as session:
        model = session.get(Model, params["model_id"])
        task = session.get(Task, ctx.task_id)
        if model is None or task is None:
            raise RequestFailed("the model or the task was deleted before the run started")
        try:
            mapping = runs.mapping_for(session, model, task, params)
            adapter = runs.adapter_of(model)
        except LabelVaultError as exc:
            raise RequestFailed(str(exc)) from exc
        plan = runs.job_batches(session, task, ctx.job_id)
        reader = runs.reader_for(ctx.db, ctx.settings, task)
        session.expunge_all()
    if hasattr(adapter, "threshold"):
        adapter.threshold = mapping.threshold  # a function module filters by itself too
    total = sum(len(frames) for _, frames in plan) or 1
    workers = max(1, int(getattr(adapter, "concurrency", 1)))  # thread-safe adapters say so
    done = 0

    def detect(frame):  # type: ignore[no-untyped-def]
        try:
            return runs.detect_frame(model, adapter, mapping, frame, reader.read(frame))
        except runs.RunFailed as exc:
            raise RequestFailed(str(exc)) from exc

    last = 0.0

    def between_batches(count: int) -> None:
        nonlocal done, last
        done += count
        # Each look at the request is a transaction; fast models would spend their time there.
        if time.monotonic() - last < REPORT_EVERY and done < total:
            return
        last = time.monotonic()
        if _cancelled(ctx):
            raise RequestFailed(CANCELLED)
        ctx.progress(done / total, f"Annotated {done} of {total} frames with '{model.name}'")

    written = 0
    for job_id, frames in plan:
        payload = runs.run_job_frames(ctx.db, ctx.task_id, frames, detect, between_batches, workers)
        with ctx.db.session() as session:
            if _cancelled(ctx):
                raise RequestFailed(CANCELLED)
            job = session.get(Job, job_id)
            if job is None:
                continue
            action = None if params.get("cleanup") else "create"
            if action == "create" and not (payload["tags"] or payload["shapes"]):
                continue
            annotations.save_job(session, job, payload, action, None)
        written += len(payload["tags"]) + len(payload["shapes"])
    ctx.result["message"] = f"'{model.name}' added {written} objects"
