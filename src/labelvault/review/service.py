"""Rules of review issues and comments: open, comment, resolve, reopen, delete."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelvault.access import permissions as access
from labelvault.access.deps import may_edit_job, visible_job
from labelvault.accounts.models import User
from labelvault.db.base import utcnow
from labelvault.errors import Invalid, NotFound
from labelvault.review import permissions
from labelvault.review.models import Comment, Issue
from labelvault.review.schemas import CommentPatch, CommentWrite, IssuePatch, IssueWrite
from labelvault.tasks.models import Job
from labelvault.tasks.service import job_frames


def _check_position(position: list[float]) -> None:
    if len(position) % 2:
        raise Invalid({"position": ["position is a flat list of x, y pairs; it has an odd length"]})


def _check_user(session: Session, user_id: int | None) -> None:
    if user_id is not None and session.get(User, user_id) is None:
        raise Invalid({"assignee": [f"user {user_id} does not exist"]})


def visible_issue(session: Session, user: User, issue_id: int) -> Issue:
    issue = session.scalars(
        select(Issue).where(Issue.id == issue_id, permissions.issue_filter(user))
    ).first()
    if issue is None:
        raise NotFound.of("Issue")
    return issue


def visible_comment(session: Session, user: User, comment_id: int) -> Comment:
    comment = session.scalars(
        select(Comment).where(Comment.id == comment_id, permissions.comment_filter(user))
    ).first()
    if comment is None:
        raise NotFound.of("Comment")
    return comment


def create_issue(session: Session, user: User, body: IssueWrite) -> Issue:
    """An issue opens with its first comment (CVAT's `message`), owned by its author."""
    try:
        job = visible_job(session, user, body.job)
    except NotFound:
        raise Invalid({"job": [f"job {body.job} does not exist or is not visible"]}) from None
    access.require(
        may_edit_job(session, user, job),
        "Only the job's assignee or the task's or project's owner/assignee may open issues.",
    )
    if body.frame not in job_frames(job):
        raise Invalid({"frame": [f"frame {body.frame} is not in job {job.id}"]})
    _check_position(body.position)
    _check_user(session, body.assignee)
    issue = Issue(
        job_id=job.id,
        frame=body.frame,
        position=list(body.position),
        owner_id=user.id,
        assignee_id=body.assignee,
        resolved=body.resolved,
    )
    session.add(issue)
    session.flush()
    session.add(Comment(issue_id=issue.id, owner_id=user.id, message=body.message))
    session.flush()
    return issue


def update_issue(session: Session, user: User, issue: Issue, body: IssuePatch) -> Issue:
    """Resolve, reopen, move or reassign an issue (issue staff)."""
    job = session.get(Job, issue.job_id)
    access.require(
        permissions.is_issue_staff(session, user, issue, job),
        "Only the issue's owner or assignee, or the job's staff, may change it.",
    )
    fields = body.model_fields_set
    if body.position is not None:
        _check_position(body.position)
        issue.position = list(body.position)
    if "assignee" in fields:
        _check_user(session, body.assignee)
        issue.assignee_id = body.assignee
    if body.resolved is not None:
        issue.resolved = body.resolved
    issue.updated_date = utcnow()
    session.flush()
    return issue


def delete_issue(session: Session, user: User, issue: Issue) -> None:
    job = session.get(Job, issue.job_id)
    access.require(
        permissions.is_issue_admin(session, user, issue, job),
        "Only the issue's owner or the task's or project's owner/assignee may delete it.",
    )
    session.delete(issue)
    session.flush()


def create_comment(session: Session, user: User, body: CommentWrite) -> Comment:
    try:
        issue = visible_issue(session, user, body.issue)
    except NotFound:
        raise Invalid({"issue": [f"issue {body.issue} does not exist or is not visible"]}) from None
    job = session.get(Job, issue.job_id)
    access.require(
        permissions.is_issue_staff(session, user, issue, job),
        "Only the issue's owner or assignee, or the job's staff, may comment on it.",
    )
    comment = Comment(issue_id=issue.id, owner_id=user.id, message=body.message)
    session.add(comment)
    issue.updated_date = utcnow()
    session.flush()
    return comment


def _require_comment_staff(session: Session, user: User, comment: Comment, action: str) -> None:
    issue = session.get(Issue, comment.issue_id)
    job = session.get(Job, issue.job_id)
    access.require(
        user.id == comment.owner_id or permissions.is_issue_staff(session, user, issue, job),
        f"Only the comment's owner or the issue's staff may {action} it.",
    )


def update_comment(session: Session, user: User, comment: Comment, body: CommentPatch) -> Comment:
    _require_comment_staff(session, user, comment, "change")
    comment.message = body.message
    comment.updated_date = utcnow()
    session.flush()
    return comment


def delete_comment(session: Session, user: User, comment: Comment) -> None:
    _require_comment_staff(session, user, comment, "delete")
    session.delete(comment)
    session.flush()


def comment_counts(session: Session, issue_ids: list[int]) -> dict[int, int]:
    if not issue_ids:
        return {}
    rows = session.execute(
        select(Comment.issue_id, func.count())
        .where(Comment.issue_id.in_(issue_ids))
        .group_by(Comment.issue_id)
    )
    return dict(rows.all())


def issue_counts(session: Session, job_ids: list[int]) -> dict[int, int]:
    """Issues per job, for the `issues.count` of CVAT's job reply."""
    if not job_ids:
        return {}
    rows = session.execute(
        select(Issue.job_id, func.count()).where(Issue.job_id.in_(job_ids)).group_by(Issue.job_id)
    )
    return dict(rows.all())
