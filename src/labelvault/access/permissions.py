"""Who may see and change what, as CVAT's rules do in the sandbox and in organizations.

Admins see and do everything (within the selected organization, if any). Elsewhere a user
sees a project, task or job they own or are assigned to (or something inside it); in an
organization its maintainers and owner see everything of it, supervisors and workers what
they own or are assigned to. Objects a user may not see answer 404, never 403.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Select, and_, or_, select, true
from sqlalchemy.orm import aliased

from labelvault.access.context import context_of, role_in, roles_of
from labelvault.accounts.models import User
from labelvault.errors import Forbidden
from labelvault.organizations.service import at_least
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


def staff_org_ids(user: User, minimum: str = "maintainer") -> list[int]:
    return [org_id for org_id, role in roles_of(user).items() if at_least(role, minimum)]


def scoped(
    user: User, org_column: Any, ownership: ColumnElement[bool], minimum: str = "maintainer"
) -> ColumnElement[bool]:
    """Rows of the selected context the user may see: all of them for an org's staff
    (`minimum` role or higher), else the ones `ownership` grants."""
    context = context_of(user)
    if context.selected:
        if context.organization is None:
            in_context = org_column.is_(None)
            return in_context if user.is_admin else and_(in_context, ownership)
        in_context = org_column == context.organization.id
        if user.is_admin or at_least(context.role, minimum):
            return in_context
        return and_(in_context, ownership)
    if user.is_admin:
        return true()
    member_of = list(roles_of(user))
    # Ownership counts in the sandbox and in organizations the user still belongs to.
    where = or_(org_column.is_(None), org_column.in_(member_of)) if member_of else None
    owned = and_(where, ownership) if where is not None else and_(org_column.is_(None), ownership)
    staff = staff_org_ids(user, minimum)
    return or_(owned, org_column.in_(staff)) if staff else owned


def in_context(user: User, org_column: Any) -> ColumnElement[bool]:
    """Rows of the selected context only (no ownership rule): an organization's, the
    sandbox's, or, unspecified, the sandbox's and those of the user's organizations."""
    context = context_of(user)
    if context.selected:
        if context.organization is None:
            return org_column.is_(None)
        return org_column == context.organization.id
    if user.is_admin:
        return true()
    member_of = list(roles_of(user))
    if not member_of:
        return org_column.is_(None)
    return or_(org_column.is_(None), org_column.in_(member_of))


def project_filter(user: User) -> ColumnElement[bool]:
    task_projects = select(Task.project_id).where(
        Task.project_id.is_not(None),
        or_(
            Task.owner_id == user.id,
            Task.assignee_id == user.id,
            Task.id.in_(select(Job.task_id).where(Job.assignee_id == user.id)),
        ),
    )
    ownership = or_(
        Project.owner_id == user.id,
        Project.assignee_id == user.id,
        Project.id.in_(task_projects),
    )
    return scoped(user, Project.organization_id, ownership)


def task_filter(user: User) -> ColumnElement[bool]:
    ownership = or_(
        Task.id.in_(_managed_task_ids(user)),
        Task.id.in_(select(Job.task_id).where(Job.assignee_id == user.id)),
    )
    return scoped(user, Task.organization_id, ownership)


def job_filter(user: User) -> ColumnElement[bool]:
    # A job belongs to its task's organization.
    org = select(Task.organization_id).where(Task.id == Job.task_id).scalar_subquery()
    ownership = or_(Job.assignee_id == user.id, Job.task_id.in_(_managed_task_ids(user)))
    return scoped(user, org, ownership)


def staff_task_filter(user: User) -> ColumnElement[bool]:
    """Tasks whose whole content the user may read: task staff (the task's or its project's
    owner/assignee) and the organization's maintainers, not a job's assignee (CVAT's
    quality and export rules)."""
    return scoped(user, Task.organization_id, Task.id.in_(_managed_task_ids(user)))


def staff_task_ids(user: User) -> Select[tuple[int]]:
    return select(Task.id).where(staff_task_filter(user))


def staff_project_ids(user: User) -> Select[tuple[int]]:
    """Projects whose whole content the user may read: the project's owner or assignee and
    the organization's maintainers."""
    return select(Project.id).where(
        scoped(user, Project.organization_id, Project.id.in_(_managed_project_ids(user)))
    )


def job_org(job_id: Any) -> Any:
    """The organization of a job (its task's), as a scalar subquery over a job id column."""
    # Aliases: the outer query may hold jobs or tasks itself, which must not correlate here.
    job, task = aliased(Job), aliased(Task)
    return (
        select(task.organization_id)
        .join(job, job.task_id == task.id)
        .where(job.id == job_id)
        .scalar_subquery()
    )


def visible_project_ids(user: User) -> Select[tuple[int]]:
    return select(Project.id).where(project_filter(user))


def visible_task_ids(user: User) -> Select[tuple[int]]:
    return select(Task.id).where(task_filter(user))


def is_org_staff(user: User, org_id: int | None, minimum: str = "maintainer") -> bool:
    """An organization's owner and maintainers manage everything in it."""
    return org_id is not None and at_least(role_in(user, org_id), minimum)


def manages_project(user: User, project: Project) -> bool:
    return (
        user.is_admin
        or user.id in (project.owner_id, project.assignee_id)
        or is_org_staff(user, project.organization_id)
    )


def manages_task(user: User, task: Task, project: Project | None) -> bool:
    if user.is_admin or user.id in (task.owner_id, task.assignee_id):
        return True
    if is_org_staff(user, task.organization_id):
        return True
    return project is not None and manages_project(user, project)


def may_delete(user: User, owner_id: int | None, org_id: int | None) -> bool:
    """Deleting needs the owner, an admin or the organization's staff (not the assignee)."""
    return user.is_admin or user.id == owner_id or is_org_staff(user, org_id)


def require_creator(user: User, minimum: str = "supervisor") -> None:
    """Workers annotate; users create work, in an organization as `minimum` or higher."""
    if user.role == "worker":
        raise Forbidden("Workers cannot create projects or tasks; ask an admin for the user role.")
    context = context_of(user)
    if context.organization is not None and not (user.is_admin or at_least(context.role, minimum)):
        raise Forbidden(
            f"Only an organization {minimum} or higher may create this in "
            f"'{context.organization.slug}'."
        )


def creation_org_id(user: User) -> int | None:
    """The organization new work of this request belongs to (None: the sandbox)."""
    return context_of(user).org_id


def require(condition: bool, detail: str) -> None:
    if not condition:
        raise Forbidden(detail)
