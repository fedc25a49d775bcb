"""Endpoints for review issues and comments (/api/issues, /api/comments)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from sqlalchemy import select

from labelvault import filters
from labelvault.access.deps import CurrentUser, DbSession, VisibleJob
from labelvault.accounts.models import User
from labelvault.accounts.replies import basic_user, users_by_id
from labelvault.http import absolute, apply_sort, paginate, parse_bool
from labelvault.review import permissions, service
from labelvault.review.models import Comment, Issue
from labelvault.review.schemas import CommentPatch, CommentWrite, IssuePatch, IssueWrite
from labelvault.tasks.models import Job

router = APIRouter()

ISSUE_SORT = {
    "id": Issue.id,
    "owner": Issue.owner_id,
    "assignee": Issue.assignee_id,
    "job_id": Issue.job_id,
    "frame_id": Issue.frame,
    "resolved": Issue.resolved,
}
COMMENT_SORT = {"id": Comment.id, "owner": Comment.owner_id, "issue_id": Comment.issue_id}


def _username(column: Any) -> Any:
    return select(User.username).where(User.id == column).scalar_subquery()


def _issue_column(column: Any) -> Any:
    return select(column).where(Issue.id == Comment.issue_id).scalar_subquery()


_TASK_OF_ISSUE = select(Job.task_id).where(Job.id == Issue.job_id).scalar_subquery()
# The terms of CVAT's IssueViewSet / CommentViewSet for `filter=` and `field__in=`.
ISSUE_FILTERS = {
    "id": filters.Field(Issue.id),
    "frame_id": filters.Field(Issue.frame),
    "job_id": filters.Field(Issue.job_id),
    "task_id": filters.Field(_TASK_OF_ISSUE),
    "owner": filters.Field(_username(Issue.owner_id)),
    "assignee": filters.Field(_username(Issue.assignee_id)),
    "resolved": filters.Field(Issue.resolved),
}
COMMENT_FILTERS = {
    "id": filters.Field(Comment.id),
    "issue_id": filters.Field(Comment.issue_id),
    "frame_id": filters.Field(_issue_column(Issue.frame)),
    "job_id": filters.Field(_issue_column(Issue.job_id)),
    "owner": filters.Field(_username(Comment.owner_id)),
}


def issues_json(request: Request, session: DbSession, issues: list[Issue]) -> list[dict[str, Any]]:
    users = users_by_id(session, {i.owner_id for i in issues} | {i.assignee_id for i in issues})
    counts = service.comment_counts(session, [i.id for i in issues])
    return [
        {
            "id": i.id,
            "frame": i.frame,
            "position": i.position,
            "job": i.job_id,
            "owner": basic_user(request, users.get(i.owner_id)),
            "assignee": basic_user(request, users.get(i.assignee_id)),
            "created_date": i.created_date,
            "updated_date": i.updated_date,
            "resolved": i.resolved,
            "comments": {
                "url": absolute(request, f"/api/comments?issue_id={i.id}"),
                "count": counts.get(i.id, 0),
            },
        }
        for i in issues
    ]


def comments_json(
    request: Request, session: DbSession, comments: list[Comment]
) -> list[dict[str, Any]]:
    users = users_by_id(session, {c.owner_id for c in comments})
    return [
        {
            "id": c.id,
            "issue": c.issue_id,
            "owner": basic_user(request, users.get(c.owner_id)),
            "message": c.message,
            "created_date": c.created_date,
            "updated_date": c.updated_date,
        }
        for c in comments
    ]


def _by_username(username: str):  # type: ignore[no-untyped-def]
    return select(User.id).where(User.username == username)


@router.get("/api/issues", tags=["issues"])
def list_issues(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    job_id: int | None = None,
    task_id: int | None = None,
    frame_id: int | None = None,
    resolved: str | None = None,
    owner: str | None = None,
    assignee: str | None = None,
    id: int | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    query = select(Issue).where(permissions.issue_filter(user))
    if job_id is not None:
        query = query.where(Issue.job_id == job_id)
    if task_id is not None:
        query = query.where(Issue.job_id.in_(select(Job.id).where(Job.task_id == task_id)))
    if frame_id is not None:
        query = query.where(Issue.frame == frame_id)
    if resolved is not None:
        query = query.where(Issue.resolved == parse_bool(resolved))
    if owner:
        query = query.where(Issue.owner_id.in_(_by_username(owner)))
    if assignee:
        query = query.where(Issue.assignee_id.in_(_by_username(assignee)))
    if id is not None:
        query = query.where(Issue.id == id)
    query = filters.apply(query, request.query_params, ISSUE_FILTERS)
    query = apply_sort(query, sort, ISSUE_SORT, Issue.id.desc())
    return paginate(request, session, query, lambda rows: issues_json(request, session, rows))


@router.post("/api/issues", status_code=201, tags=["issues"])
def create_issue(
    body: IssueWrite, request: Request, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    return issues_json(request, session, [service.create_issue(session, user, body)])[0]


@router.get("/api/issues/{issue_id}", tags=["issues"])
def get_issue(
    issue_id: int, request: Request, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    return issues_json(request, session, [service.visible_issue(session, user, issue_id)])[0]


@router.patch("/api/issues/{issue_id}", tags=["issues"])
def update_issue(
    issue_id: int, body: IssuePatch, request: Request, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    issue = service.visible_issue(session, user, issue_id)
    return issues_json(request, session, [service.update_issue(session, user, issue, body)])[0]


@router.delete("/api/issues/{issue_id}", status_code=204, tags=["issues"])
def delete_issue(issue_id: int, session: DbSession, user: CurrentUser) -> Response:
    service.delete_issue(session, user, service.visible_issue(session, user, issue_id))
    return Response(status_code=204)


@router.get("/api/jobs/{job_id}/issues", tags=["jobs"])
def job_issues(job: VisibleJob, request: Request, session: DbSession) -> list[dict[str, Any]]:
    # CVAT's older per-job list: every issue of the job, oldest first, unpaged.
    issues = session.scalars(select(Issue).where(Issue.job_id == job.id).order_by(Issue.id))
    return issues_json(request, session, list(issues))


@router.get("/api/comments", tags=["comments"])
def list_comments(
    request: Request,
    session: DbSession,
    user: CurrentUser,
    issue_id: int | None = None,
    job_id: int | None = None,
    frame_id: int | None = None,
    owner: str | None = None,
    id: int | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    query = select(Comment).where(permissions.comment_filter(user))
    if issue_id is not None:
        query = query.where(Comment.issue_id == issue_id)
    if job_id is not None:
        query = query.where(Comment.issue_id.in_(select(Issue.id).where(Issue.job_id == job_id)))
    if frame_id is not None:
        query = query.where(Comment.issue_id.in_(select(Issue.id).where(Issue.frame == frame_id)))
    if owner:
        query = query.where(Comment.owner_id.in_(_by_username(owner)))
    if id is not None:
        query = query.where(Comment.id == id)
    query = filters.apply(query, request.query_params, COMMENT_FILTERS)
    query = apply_sort(query, sort, COMMENT_SORT, Comment.id.desc())
    return paginate(request, session, query, lambda rows: comments_json(request, session, rows))


@router.post("/api/comments", status_code=201, tags=["comments"])
def create_comment(
    body: CommentWrite, request: Request, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    return comments_json(request, session, [service.create_comment(session, user, body)])[0]


@router.get("/api/comments/{comment_id}", tags=["comments"])
def get_comment(
    comment_id: int, request: Request, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    return comments_json(request, session, [service.visible_comment(session, user, comment_id)])[0]


@router.patch("/api/comments/{comment_id}", tags=["comments"])
def update_comment(
    comment_id: int, body: CommentPatch, request: Request, session: DbSession, user: CurrentUser
) -> dict[str, Any]:
    comment = service.visible_comment(session, user, comment_id)
    updated = service.update_comment(session, user, comment, body)
    return comments_json(request, session, [updated])[0]


@router.delete("/api/comments/{comment_id}", status_code=204, tags=["comments"])
def delete_comment(comment_id: int, session: DbSession, user: CurrentUser) -> Response:
    service.delete_comment(session, user, service.visible_comment(session, user, comment_id))
    return Response(status_code=204)
