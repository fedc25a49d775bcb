"""Who may see and change what, as in CVAT's sandbox rules (no organizations).

Admins see and do everything. Others see a project, task or job when they own it or are
assigned to it, or to something inside it; workers see only what they are assigned to.
Objects a user may not see answer 404, never 403, so lists and errors leak nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, Select, or_, select, true

from labelvault.accounts.models import User
from labelvault.errors import Forbidden
from labelvault.projects.models import Project
from labelvault.tasks.models import Job, Task


def _managed_project_ids(user: User):  # type: ignore[no-untyped-def]
    return select(Project.id).where(
        or_(Project.owner_id == user.id, Project.assignee_id == user.id)
    )


def _managed_task_ids(user: User):  # type: ignore[no-untyped-def]
    return select(Task.id).where(
        or_(
            Task.owner_id == user.id,
            Task.assignee_id == user.id,
            Task.project_id.in_(_managed_project_ids(user)),
        )
    )


def project_filter(user: User) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    task_projects = select(Task.project_id).where(
        Task.project_id.is_not(None),
        or_(
            Task.owner_id == user.id,
            Task.assignee_id == user.id,
            Task.id.in_(select(Job.task_id).where(Job.assignee_id == user.id)),
        ),
    )
    return or_(
        Project.owner_id == user.id,
        Project.assignee_id == user.id,
        Project.id.in_(task_projects),
    )


def task_filter(user: User) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    return or_(
        Task.id.in_(_managed_task_ids(user)),
        Task.id.in_(select(Job.task_id).where(Job.assignee_id == user.id)),
    )


def job_filter(user: User) -> ColumnElement[bool]:
    if user.is_admin:
        return true()
    return or_(Job.assignee_id == user.id, Job.task_id.in_(_managed_task_ids(user)))


def visible_project_ids(user: User) -> Select[tuple[int]]:
    return select(Project.id).where(project_filter(user))


def visible_task_ids(user: User) -> Select[tuple[int]]:
    return select(Task.id).where(task_filter(user))


def manages_project(user: User, project: Project) -> bool:
    return user.is_admin or user.id in (project.owner_id, project.assignee_id)


def manages_task(user: User, task: Task, project: Project | None) -> bool:
    if user.is_admin or user.id in (task.owner_id, task.assignee_id):
        return True
    return project is not None and manages_project(user, project)


def require_creator(user: User) -> None:
    """Workers annotate; only users and admins create projects and tasks."""
    if user.role == "worker":
        raise Forbidden("Workers cannot create projects or tasks; ask an admin for the user role.")


def require(condition: bool, detail: str) -> None:
    if not condition:
        raise Forbidden(detail)
