"""Who may see and change issues and comments: CVAT's issues.rego / comments.rego (sandbox).

Job staff (the job's assignee, the task's or project's owner/assignee) open issues; issue
staff (job staff, the issue's owner and assignee) see and update them; only the issue's
owner and task staff delete one. A comment's owner may also change or delete it. Issues a
user may not see answer 404, as everything else does. An issue belongs to its job's
organization: X-Organization / org / org_id narrow the lists as for jobs.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from labelvault.access import permissions
from labelvault.access.deps import may_edit_job, project_of
from labelvault.accounts.models import User
from labelvault.review.models import Comment, Issue
from labelvault.tasks.models import Job, Task


def issue_filter(user: User) -> ColumnElement[bool]:
    """Issues of the selected organization context (their job's task's organization) that
    the user owns, is assigned or whose job they see; an organization's staff see all."""
    ownership = or_(
        Issue.owner_id == user.id,
        Issue.assignee_id == user.id,
        Issue.job_id.in_(select(Job.id).where(permissions.job_filter(user))),
    )
    return permissions.scoped(user, permissions.job_org(Issue.job_id), ownership)


def comment_filter(user: User) -> ColumnElement[bool]:
    """A comment is seen with its issue; its own author sees it in the issue's context."""
    own = select(Issue.id).where(permissions.in_context(user, permissions.job_org(Issue.job_id)))
    return or_(
        Comment.issue_id.in_(select(Issue.id).where(issue_filter(user))),
        and_(Comment.owner_id == user.id, Comment.issue_id.in_(own)),
    )


def is_task_staff(session: Session, user: User, job: Job) -> bool:
    task = session.get(Task, job.task_id)
    return permissions.manages_task(user, task, project_of(session, task))


def is_issue_staff(session: Session, user: User, issue: Issue, job: Job) -> bool:
    return user.id in (issue.owner_id, issue.assignee_id) or may_edit_job(session, user, job)


def is_issue_admin(session: Session, user: User, issue: Issue, job: Job) -> bool:
    return user.id == issue.owner_id or is_task_staff(session, user, job)
