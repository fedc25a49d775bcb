"""Who may see and change issues and comments: CVAT's issues.rego / comments.rego (sandbox).

Job staff (the job's assignee, the task's or project's owner/assignee) open issues; issue
staff (job staff, the issue's owner and assignee) see and update them; only the issue's
owner and task staff delete one. A comment's owner may also change or delete it. Issues a
user may not see answer 404, as everything else does.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.access.deps import may_edit_job, project_of
from labelvault.accounts.models import User
from labelvault.review.models import Comment, Issue
from labelvault.tasks.models import Job, Task


def issue_filter(user: User) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    return or_(
        Issue.owner_id == user.id,
        Issue.assignee_id == user.id,
        Issue.job_id.in_(select(Job.id).where(permissions.job_filter(user))),
    )


def comment_filter(user: User) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    return or_(
        Comment.owner_id == user.id,
        Comment.issue_id.in_(select(Issue.id).where(issue_filter(user))),
    )


def is_task_staff(session: Session, user: User, job: Job) -> bool:
    task = session.get(Task, job.task_id)
    return permissions.manages_task(user, task, project_of(session, task))


def is_issue_staff(session: Session, user: User, issue: Issue, job: Job) -> bool:
    return user.id in (issue.owner_id, issue.assignee_id) or may_edit_job(session, user, job)


def is_issue_admin(session: Session, user: User, issue: Issue, job: Job) -> bool:
    return user.id == issue.owner_id or is_task_staff(session, user, job)
