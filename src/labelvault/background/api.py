"""Endpoints to poll, list and cancel background requests (/api/requests)."""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import false, select, true
from sqlalchemy.orm import Session

from labelvault import filters
from labelvault.accounts.auth import current_user
from labelvault.accounts.models import User
from labelvault.background import service
from labelvault.background.models import Request as BgRequest
from labelvault.errors import NotFound
from labelvault.http import base_url, db_session, paginate

router = APIRouter(tags=["requests"])


def _owner(session: Session, owner_id: int | None) -> dict[str, Any] | None:
    user = session.get(User, owner_id) if owner_id else None
    return {"id": user.id, "username": user.username} if user else None


def _visible(session: Session, user: User, rq_id: str) -> BgRequest:
    row = session.get(BgRequest, unquote(rq_id))
    if row is None or (not user.is_admin and row.owner_id != user.id):
        raise NotFound.of("Request")
    return row


# An operation is "<action>:<subresource>" (export:dataset), the parts of CVAT's request ids.
def _action(value: Any) -> Any:
    return BgRequest.operation.startswith(f"{value}:", autoescape=True)


def _subresource(value: Any) -> Any:
    return BgRequest.operation.endswith(f":{value}", autoescape=True)


# The terms CVAT's RequestViewSet filters on; organizations are not kept here.
REQUEST_FILTERS = {
    "status": filters.Field(BgRequest.status),
    "project_id": filters.Field(BgRequest.project_id),
    "task_id": filters.Field(BgRequest.task_id),
    "job_id": filters.Field(BgRequest.job_id),
    "action": filters.Field(equals=_action),
    "subresource": filters.Field(equals=_subresource),
    "target": filters.Field(BgRequest.target),
    "format": filters.Field(BgRequest.format),
    "org": filters.Field(equals=lambda v: true() if not v else false()),
    "org_id": filters.Field(equals=lambda v: true() if v is None else false()),
}


@router.get("/api/requests")
def list_requests(
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
    status: str | None = None,
    task_id: int | None = None,
    project_id: int | None = None,
    action: str | None = None,
) -> dict[str, Any]:
    query = select(BgRequest)
    if not user.is_admin:
        query = query.where(BgRequest.owner_id == user.id)
    if status:
        query = query.where(BgRequest.status == status)
    if task_id is not None:
        query = query.where(BgRequest.task_id == task_id)
    if project_id is not None:
        query = query.where(BgRequest.project_id == project_id)
    if action:
        query = query.where(BgRequest.operation.startswith(action))
    query = filters.apply(query, request.query_params, REQUEST_FILTERS)
    query = query.order_by(BgRequest.created_date.desc())
    base = base_url(request)
    return paginate(
        request,
        session,
        query,
        lambda rows: [service.request_json(r, base, _owner(session, r.owner_id)) for r in rows],
    )


@router.get("/api/requests/{rq_id:path}")
def get_request(
    rq_id: str,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    row = _visible(session, user, rq_id)
    return service.request_json(row, base_url(request), _owner(session, row.owner_id))


@router.post("/api/requests/{rq_id}/cancel")
def cancel_request(
    rq_id: str, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> Response:
    row = _visible(session, user, rq_id)
    if row.status == "queued":
        row.status = "failed"
        row.message = "Cancelled by the user."
    return Response(status_code=200)
