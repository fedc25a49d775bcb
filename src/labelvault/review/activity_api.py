"""Endpoints of activity: CVAT's /api/events export (CSV) and per project/task summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Response
from sqlalchemy import ColumnElement, or_, true

from labelvault.access import permissions
from labelvault.access.deps import CurrentUser, DbSession, VisibleProject, VisibleTask
from labelvault.accounts.models import User
from labelvault.review import activity
from labelvault.review.models import ActivityEvent

router = APIRouter(tags=["events"])


def _scope(user: User) -> ColumnElement[bool]:
    """Managers (task staff, an organization's maintainers) see everyone's saves in what
    they manage; everyone sees their own (CVAT's events rules)."""
    if user.is_admin:
        return true()
    return or_(
        ActivityEvent.task_id.in_(permissions.staff_task_ids(user)),
        (ActivityEvent.user_id == user.id)
        & ActivityEvent.task_id.in_(permissions.visible_task_ids(user)),
    )


def _events(session: DbSession, user: User, **filters: Any) -> list[ActivityEvent]:
    query = activity.events_query(visible_tasks=permissions.visible_task_ids(user), **filters)
    return list(session.scalars(query.where(_scope(user))))


_TEXT = {"type": "string"}


@router.get(
    "/api/events",
    responses={
        200: {"description": "CSV", "content": {"text/csv": {"schema": {"type": "string"}}}}
    },
)
def export_events(
    session: DbSession,
    user: CurrentUser,
    project_id: int | None = None,
    task_id: int | None = None,
    job_id: int | None = None,
    user_id: int | None = None,
    since: datetime | None = Query(default=None, alias="from"),
    until: datetime | None = Query(default=None, alias="to"),
    filename: str | None = None,
    action: str | None = None,
) -> Response:
    """The saves as CSV with CVAT's event columns (one step: no background request)."""
    events = _events(
        session,
        user,
        project_id=project_id,
        task_id=task_id,
        job_id=job_id,
        user_id=user_id,
        since=since,
        until=until,
    )
    name = filename or "events"
    # Headers are Latin-1: an ASCII fallback name, and the real one RFC 5987-encoded.
    plain = "".join(c for c in name if " " <= c <= "~" and c not in '"\\') or "events"
    disposition = f"attachment; filename=\"{plain}.csv\"; filename*=UTF-8''{quote(name)}.csv"
    return Response(
        activity.events_csv(session, events),
        media_type="text/csv",
        headers={"Content-Disposition": disposition},
    )


@router.get("/api/projects/{project_id}/activity", tags=["projects"])
def project_activity(project: VisibleProject, session: DbSession, user: CurrentUser) -> dict:
    return activity.summary(session, _events(session, user, project_id=project.id))


@router.get("/api/tasks/{task_id}/activity", tags=["tasks"])
def task_activity(task: VisibleTask, session: DbSession, user: CurrentUser) -> dict:
    return activity.summary(session, _events(session, user, task_id=task.id))
