"""The visibility and edit rules as FastAPI dependencies: `VisibleTask`, `EditableJob`, ...

Each rule is written once here; endpoints name the type they need and get the row or a
404/403 that says what is missing. The plain functions serve code that holds an id only.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelvault.access import context, permissions
from labelvault.accounts import auth
from labelvault.accounts.auth import current_user
from labelvault.accounts.models import User
from labelvault.errors import NotFound
from labelvault.http import db_session
from labelvault.projects.models import Label, Project
from labelvault.tasks.models import Job, Task
from labelvault.tasks.service import job_frames

DbSession = Annotated[Session, Depends(db_session)]
CurrentUser = Annotated[User, Depends(current_user)]


def current_user_in_context(request: Request, session: DbSession) -> User:
    """`current_user` plus the organization the request selects (app.py puts it in place).

    Every endpoint that names the user then applies the organization's rules.
    """
    user = auth.current_user(request, session)
    session.info[context.ACTING_USER] = {
        "id": user.id,
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
    }
    slug, org_id = context.selector(request)
    context.enter(session, user, slug, org_id)
    return user


def visible_project(session: Session, user: User, project_id: int) -> Project:
    project = session.scalars(
        select(Project).where(Project.id == project_id, permissions.project_filter(user))
    ).first()
    if project is None:
        raise NotFound.of("Project")
    return project


def visible_task(session: Session, user: User, task_id: int) -> Task:
    task = session.scalars(
        select(Task).where(Task.id == task_id, permissions.task_filter(user))
    ).first()
    if task is None:
        raise NotFound.of("Task")
    return task


def visible_job(session: Session, user: User, job_id: int) -> Job:
    job = session.scalars(select(Job).where(Job.id == job_id, permissions.job_filter(user))).first()
    if job is None:
        raise NotFound.of("Job")
    return job


def project_of(session: Session, task: Task) -> Project | None:
    return session.get(Project, task.project_id) if task.project_id else None


def require_project_manager(user: User, project: Project) -> None:
    permissions.require(
        permissions.manages_project(user, project),
        "Only the project's owner or assignee (or an admin) may do this.",
    )


def require_task_manager(session: Session, user: User, task: Task) -> None:
    permissions.require(
        permissions.manages_task(user, task, project_of(session, task)),
        "Only the task's owner or assignee (or its project's) may do this.",
    )


def require_label_manager(session: Session, user: User, label: Label) -> None:
    """A label is changed by whoever manages the project or task it belongs to."""
    root = session.get(Label, label.parent_id) if label.parent_id else label
    if root.project_id is not None:
        allowed = permissions.manages_project(user, session.get(Project, root.project_id))
    else:
        task = session.get(Task, root.task_id)
        allowed = permissions.manages_task(user, task, project_of(session, task))
    permissions.require(allowed, "Only the owner or assignee may change labels.")


def project_task_summaries(
    session: Session, project_ids: list[int]
) -> tuple[dict[int, int], dict[int, set[str]]]:
    """How many tasks each project has, and their subsets, for the project replies.

    Here because projects sit below tasks and may not read them; access is the first floor
    that knows both.
    """
    counts: dict[int, int] = {}
    subsets: dict[int, set[str]] = {}
    if project_ids:
        for project_id, count in session.execute(
            select(Task.project_id, func.count())
            .where(Task.project_id.in_(project_ids))
            .group_by(Task.project_id)
        ):
            counts[project_id] = count
        for project_id, subset in session.execute(
            select(Task.project_id, Task.subset)
            .where(Task.project_id.in_(project_ids), Task.subset != "")
            .distinct()
        ):
            subsets.setdefault(project_id, set()).add(subset)
    return counts, subsets


def is_task_staff(session: Session, user: User, task: Task) -> bool:
    """Who may read a whole task (all frames, all annotations, its dataset): its managers.

    A job's assignee sees the task but reads only its own jobs (CVAT's task staff rule).
    """
    return permissions.manages_task(user, task, project_of(session, task))


def assigned_frames(session: Session, user: User, task: Task) -> list[int]:
    """The frames of the task's jobs assigned to the user, in order."""
    jobs = session.scalars(
        select(Job).where(Job.task_id == task.id, Job.assignee_id == user.id).order_by(Job.id)
    )
    return sorted({f for job in jobs for f in job_frames(job)})


def may_edit_job(session: Session, user: User, job: Job, task: Task | None = None) -> bool:
    """The job's assignee and whoever manages its task may change its annotations."""
    task = task or session.get(Task, job.task_id)
    return job.assignee_id == user.id or permissions.manages_task(
        user, task, project_of(session, task)
    )


def require_job_editor(session: Session, user: User, job: Job, task: Task | None = None) -> None:
    permissions.require(
        may_edit_job(session, user, job, task),
        "Only the job's assignee or the task's owner/assignee may annotate it.",
    )


def _visible_project(project_id: int, session: DbSession, user: CurrentUser) -> Project:
    return visible_project(session, user, project_id)


def _managed_project(project_id: int, session: DbSession, user: CurrentUser) -> Project:
    project = visible_project(session, user, project_id)
    require_project_manager(user, project)
    return project


def _visible_task(task_id: int, session: DbSession, user: CurrentUser) -> Task:
    return visible_task(session, user, task_id)


def _managed_task(task_id: int, session: DbSession, user: CurrentUser) -> Task:
    task = visible_task(session, user, task_id)
    require_task_manager(session, user, task)
    return task


def _visible_job(job_id: int, session: DbSession, user: CurrentUser) -> Job:
    return visible_job(session, user, job_id)


def _editable_job(job_id: int, session: DbSession, user: CurrentUser) -> Job:
    job = visible_job(session, user, job_id)
    require_job_editor(session, user, job)
    return job


VisibleProject = Annotated[Project, Depends(_visible_project)]
ManagedProject = Annotated[Project, Depends(_managed_project)]
VisibleTask = Annotated[Task, Depends(_visible_task)]
ManagedTask = Annotated[Task, Depends(_managed_task)]
VisibleJob = Annotated[Job, Depends(_visible_job)]
EditableJob = Annotated[Job, Depends(_editable_job)]
