"""Endpoints of registered models (/api/models, admins only) and CVAT's lambda API (/api/lambda)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import select
from starlette.concurrency import run_in_threadpool

from labelvault.access import permissions
from labelvault.access.deps import (
    CurrentUser,
    DbSession,
    require_job_editor,
    require_task_manager,
    visible_job,
    visible_task,
)
from labelvault.accounts.auth import admin_user
from labelvault.accounts.models import User
from labelvault.background import service as background
from labelvault.background.models import Request as BgRequest
from labelvault.errors import Invalid, NotFound
from labelvault.media.frames import frames_of
from labelvault.models_ai import interactive, interactors, lambda_json, runs, service
from labelvault.models_ai.handlers import CANCELLED, OPERATION
from labelvault.models_ai.models import Model
from labelvault.models_ai.schemas import HealthRead, LambdaCall, ModelPatch, ModelRead, ModelWrite
from labelvault.tasks.models import Task

router = APIRouter(tags=["models"])
Admin = Depends(admin_user)


# ---- /api/models ----------------------------------------------------------------------------


@router.get("/api/models")
def list_models(session: DbSession, user: User = Admin) -> list[ModelRead]:
    return [service.as_read(m) for m in service.list_models(session, service.registry_filter(user))]


@router.post("/api/models", status_code=201)
def create_model(data: ModelWrite, session: DbSession, user: User = Admin) -> ModelRead:
    return service.as_read(
        service.create(session, data, user.id, permissions.creation_org_id(user))
    )


@router.get("/api/models/{model_id}")
def get_model(model_id: int, session: DbSession, user: User = Admin) -> ModelRead:
    return service.as_read(service.get(session, user, model_id))


@router.patch("/api/models/{model_id}")
def update_model(
    model_id: int, data: ModelPatch, session: DbSession, user: User = Admin
) -> ModelRead:
    return service.as_read(service.update(session, service.get(session, user, model_id), data))


@router.delete("/api/models/{model_id}", status_code=204)
def delete_model(model_id: int, session: DbSession, user: User = Admin) -> Response:
    service.delete(session, service.get(session, user, model_id))
    return Response(status_code=204)


@router.post("/api/models/{model_id}/check")
def check_model(model_id: int, session: DbSession, user: User = Admin) -> HealthRead:
    ok, message, latency = service.check(service.get(session, user, model_id))
    return HealthRead(ok=ok, message=message, latency_ms=latency)


# ---- /api/lambda/functions ------------------------------------------------------------------


@router.get("/api/lambda/functions")
def list_functions(session: DbSession, user: CurrentUser) -> list[dict[str, Any]]:
    models = service.list_models(session, service.usable_filter(user), enabled_only=True)
    return [lambda_json.function(m) for m in models] + [interactive.function_json()]


@router.get("/api/lambda/functions/{func_id}")
def get_function(func_id: str, session: DbSession, user: CurrentUser) -> dict[str, Any]:
    if func_id == interactive.GRABCUT_ID:
        return interactive.function_json()
    return lambda_json.function(service.by_name(session, func_id, service.usable_filter(user)))


def _call_target(session: DbSession, user: User, data: dict[str, Any]) -> tuple[Task, int | None]:
    """The task (and job) a call runs on; the caller must be allowed to edit it."""
    if data.get("job") is not None:
        job = visible_job(session, user, int(data["job"]))
        require_job_editor(session, user, job)
        task = session.get(Task, job.task_id)
        if data.get("task") is not None and int(data["task"]) != task.id:
            raise Invalid("job's task id does not match task id")
        return task, job.id
    if data.get("task") is None:
        raise Invalid("give the job (or task) to run the function on")
    task = visible_task(session, user, int(data["task"]))
    require_task_manager(session, user, task)
    return task, None


def _model_for(session: DbSession, user: User, name: str, task: Task) -> Model:
    """A function of the user's context that may run on this task: an instance-wide one or
    one of the task's organization (never another organization's model on this data)."""
    model = service.by_name(session, name, service.usable_filter(user))
    if model.organization_id not in (None, task.organization_id):
        raise NotFound(f"No model (function) named '{name}'; see /api/lambda/functions")
    return model


@router.post("/api/lambda/functions/{func_id}")
async def call_function(
    func_id: str, request: Request, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    """One frame, now: a detector's shapes, or an interactor's (GrabCut's) outline of clicks."""
    try:
        data = await request.json()
    except ValueError:  # not JSON at all (json.JSONDecodeError, UnicodeDecodeError)
        raise Invalid("the body must be a JSON object") from None
    if not isinstance(data, dict):
        raise Invalid("the body must be a JSON object")
    task, _ = _call_target(session, user, data)
    if not isinstance(data.get("frame"), int):
        raise Invalid("frame: give the frame number to run the function on")
    rows = frames_of(session, task.id, [data["frame"]])
    if not rows:
        raise NotFound(f"Frame {data['frame']} is not in task {task.id}")
    frame = rows[0]
    settings = request.app.state.settings
    reader = runs.FrameReader(settings, request.app.state.cloud_storages)
    image = await run_in_threadpool(reader.read, frame)
    if func_id == interactive.GRABCUT_ID:
        return await run_in_threadpool(interactive.segment, image, data)
    model = _model_for(session, user, func_id, task)
    adapter = runs.adapter_of(model)
    if model.function_kind == "interactor":
        return await run_in_threadpool(interactors.interact, model, adapter, frame, image, data)
    mapping = runs.mapping_for(session, model, task, data)
    tags, shapes = await run_in_threadpool(runs.detect_frame, model, adapter, mapping, frame, image)
    return {"version": 0, "tags": tags, "shapes": shapes, "tracks": []}


# ---- /api/lambda/requests -------------------------------------------------------------------


@router.post("/api/lambda/requests")
def create_request(
    call: LambdaCall, request: Request, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    data = call.model_dump()
    task, job_id = _call_target(session, user, data)
    model = _model_for(session, user, call.function, task)
    if model.function_kind != "detector":
        raise Invalid(f"'{model.name}' is an interactor; call it one frame at a time")
    runs.adapter_of(model)  # a disabled model or a broken module: a 4xx now, not a failed run
    runs.mapping_for(session, model, task, data)
    params = {
        "model_id": model.id,
        "function": model.name,
        "mapping": call.mapping,
        "threshold": call.threshold,
        "cleanup": call.cleanup,
        "conv_mask_to_poly": bool(call.conv_mask_to_poly or call.convMaskToPoly),
    }
    rq_id = background.create(
        request.app.state.db,
        operation=OPERATION,
        target="job" if job_id else "task",
        owner_id=user.id,
        params=params,
        task_id=task.id,
        job_id=job_id,
    )
    request.app.state.queue.enqueue(rq_id)
    with request.app.state.db.session() as fresh:
        return lambda_json.call(fresh.get(BgRequest, rq_id))


def _visible_request(session: DbSession, user: User, rq_id: str) -> BgRequest:
    row = session.get(BgRequest, unquote(rq_id))
    if row is None or row.operation != OPERATION or (not user.is_admin and row.owner_id != user.id):
        raise NotFound.of("Request")
    return row


@router.get("/api/lambda/requests")
def list_requests(session: DbSession, user: CurrentUser) -> list[dict[str, Any]]:
    # The caller's own requests, on tasks of the selected organization context.
    in_context = select(Task.id).where(permissions.in_context(user, Task.organization_id))
    query = select(BgRequest).where(
        BgRequest.operation == OPERATION, BgRequest.task_id.in_(in_context)
    )
    if not user.is_admin:
        query = query.where(BgRequest.owner_id == user.id)
    rows = session.scalars(query.order_by(BgRequest.created_date.desc()).limit(500))
    return [lambda_json.call(r) for r in rows]


@router.get("/api/lambda/requests/{rq_id}")
def get_request(rq_id: str, session: DbSession, user: CurrentUser) -> dict[str, Any]:
    return lambda_json.call(_visible_request(session, user, rq_id))


@router.delete("/api/lambda/requests/{rq_id}", status_code=204)
def cancel_request(rq_id: str, session: DbSession, user: CurrentUser) -> Response:
    """Cancel: a queued request never starts; a running one stops before its next write."""
    row = _visible_request(session, user, rq_id)
    if row.status in ("queued", "started"):
        row.status = "failed"
        row.message = CANCELLED
    return Response(status_code=204)
