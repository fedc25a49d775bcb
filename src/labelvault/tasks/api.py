"""Endpoints for tasks and jobs (/api/tasks, /api/jobs)."""

from __future__ import annotations

from enum import Enum
from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import delete, false, func, or_, select, true
from sqlalchemy.orm import Session

from labelvault import filters
from labelvault.access import permissions
from labelvault.access.deps import (
    ManagedTask,
    VisibleJob,
    VisibleProject,
    VisibleTask,
    project_of,
    require_job_editor,
)
from labelvault.accounts.auth import current_user
from labelvault.accounts.models import User
from labelvault.accounts.replies import basic_user, users_by_id
from labelvault.db.base import utcnow
from labelvault.errors import Forbidden, Invalid
from labelvault.guides.service import guide_ids
from labelvault.http import absolute, apply_sort, db_session, paginate
from labelvault.observability import audit
from labelvault.projects import service as project_service
from labelvault.projects.models import Project
from labelvault.review import ground_truth
from labelvault.review import service as review_service
from labelvault.review.schemas import GroundTruthWrite
from labelvault.tasks import service
from labelvault.tasks.models import Job, Task
from labelvault.tasks.schemas import JobRead, JobWrite, TaskRead, TaskWrite
from labelvault.webhooks import dispatch
from labelvault.webhooks.models import Webhook, WebhookDelivery

# Tags per route: the project delete served here keeps the projects router's tags.
router = APIRouter()
TAGS: list[str | Enum] = ["tasks", "jobs"]


def _job_statuses(session: Session, task_ids: list[int]) -> dict[int, list[str]]:
    result: dict[int, list[str]] = {tid: [] for tid in task_ids}
    if task_ids:
        # Ground-truth and replica jobs are not the task's own work: they never hold it back.
        rows = session.execute(
            select(Job.task_id, Job.stage, Job.state).where(
                Job.task_id.in_(task_ids), Job.type == service.ANNOTATION
            )
        )
        for tid, stage, state in rows:
            result[tid].append(service.job_status(stage, state))
    return result


def tasks_json(request: Request, session: Session, tasks: list[Task]) -> list[dict[str, Any]]:
    statuses = _job_statuses(session, [t.id for t in tasks])
    users = users_by_id(session, {t.owner_id for t in tasks} | {t.assignee_id for t in tasks})
    project_ids = {t.project_id for t in tasks if t.project_id}
    guides = guide_ids(session, [t.id for t in tasks], [])
    projects = (
        {p.id: p for p in session.scalars(select(Project).where(Project.id.in_(project_ids)))}
        if project_ids
        else {}
    )
    out = []
    for t in tasks:
        job_states = statuses[t.id]
        has_data = t.data_state == "ready"
        project = projects.get(t.project_id) if t.project_id else None
        out.append(
            {
                "url": absolute(request, f"/api/tasks/{t.id}"),
                "id": t.id,
                "name": t.name,
                "project_id": t.project_id,
                "project_name": project.name if project else None,
                "mode": t.mode,
                "owner": basic_user(request, users.get(t.owner_id)),
                "assignee": basic_user(request, users.get(t.assignee_id)),
                "bug_tracker": t.bug_tracker,
                "created_date": t.created_date,
                "updated_date": t.updated_date,
                "overlap": t.overlap,
                "segment_size": t.segment_size,
                "status": service.task_status(job_states),
                "data_chunk_size": t.chunk_size if has_data else None,
                "data_compressed_chunk_type": "imageset" if has_data else None,
                # A video task's original chunks are video clips in CVAT, its compressed ones
                # image sets.
                "data_original_chunk_type": (
                    ("video" if t.mode == "interpolation" else "imageset") if has_data else None
                ),
                "guide_id": guides.get(f"task:{t.id}"),
                "size": t.size,
                "image_quality": t.image_quality,
                "data": t.id if has_data else None,
                "dimension": t.dimension,
                "subset": t.subset,
                "organization": t.organization_id,
                "organization_id": t.organization_id,
                "target_storage": None,
                "source_storage": None,
                "jobs": {
                    "count": len(job_states),
                    "completed": job_states.count("completed"),
                    "validation": job_states.count("validation"),
                    "url": absolute(request, f"/api/jobs?task_id={t.id}"),
                },
                "labels": {"url": absolute(request, f"/api/labels?task_id={t.id}")},
                "assignee_updated_date": t.assignee_updated_date,
                "validation_mode": None,
                "consensus_enabled": t.consensus_replicas > 0,
                "consensus_replicas": t.consensus_replicas,
                "data_cloud_storage_id": t.cloud_storage_id,
                "media_type": ("video" if t.mode == "interpolation" else "image")
                if has_data
                else "",
                "initial_replicas": 0,
                "data_state": t.data_state,
            }
        )
    return out


TASK_SORT = {
    "id": Task.id,
    "name": Task.name,
    "created_date": Task.created_date,
    "updated_date": Task.updated_date,
    "owner": Task.owner_id,
    "assignee": Task.assignee_id,
    "project_id": Task.project_id,
    "subset": Task.subset,
    "mode": Task.mode,
    "dimension": Task.dimension,
}


def _username(column: Any) -> Any:
    return select(User.username).where(User.id == column).scalar_subquery()


def _status_clause(status: Any) -> Any:
    """Status is derived from jobs: a task is "annotation" while any job is in annotation."""
    # as in the reply: ground-truth and replica jobs do not count
    own = select(Job.task_id).where(Job.type == service.ANNOTATION)
    annotating = own.where(Job.stage == "annotation")
    not_done = own.where(or_(Job.stage != "acceptance", Job.state != "completed"))
    if status == "annotation":
        return or_(Task.id.in_(annotating), ~Task.id.in_(own))
    if status == "validation":
        return (~Task.id.in_(annotating)) & Task.id.in_(not_done)
    if status == "completed":
        return Task.id.in_(own) & ~Task.id.in_(not_done)
    raise Invalid("status must be annotation, validation or completed")


def _media_type(value: Any) -> Any:
    # A task with data is an image set here; one without has no media type yet.
    has_data = Task.size > 0
    return has_data if value == "image" else (~has_data if value in ("", None) else false())


def _project_name(task_project: Any) -> Any:
    return select(Project.name).where(Project.id == task_project).scalar_subquery()


# The terms CVAT's TaskViewSet filters on (filter_fields, lookup_fields).
TASK_FILTERS = {
    "id": filters.Field(Task.id),
    "name": filters.Field(Task.name),
    "owner": filters.Field(_username(Task.owner_id)),
    "assignee": filters.Field(_username(Task.assignee_id)),
    "project_id": filters.Field(Task.project_id),
    "project_name": filters.Field(_project_name(Task.project_id)),
    "subset": filters.Field(Task.subset),
    "tracker_link": filters.Field(Task.bug_tracker),
    "mode": filters.Field(Task.mode),
    "dimension": filters.Field(Task.dimension),
    "updated_date": filters.Field(Task.updated_date),
    "status": filters.Field(equals=_status_clause),
    "media_type": filters.Field(equals=_media_type),
    "validation_mode": filters.Field(equals=lambda v: true() if v is None else false()),
}


@router.get("/api/tasks", tags=TAGS)
def list_tasks(
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
    name: str | None = None,
    search: str | None = None,
    owner: str | None = None,
    assignee: str | None = None,
    project_id: int | None = None,
    project_name: str | None = None,
    subset: str | None = None,
    mode: str | None = None,
    status: str | None = None,
    sort: str | None = None,
    id: int | None = None,
) -> dict[str, Any]:
    query = select(Task).where(permissions.task_filter(user))
    if id is not None:
        query = query.where(Task.id == id)
    if name:
        query = query.where(Task.name.ilike(f"%{name}%"))
    if search:
        owners = select(User.id).where(User.username.ilike(f"%{search}%"))
        query = query.where(or_(Task.name.ilike(f"%{search}%"), Task.owner_id.in_(owners)))
    for value, column in ((owner, Task.owner_id), (assignee, Task.assignee_id)):
        if value:
            query = query.where(column.in_(select(User.id).where(User.username == value)))
    if project_id is not None:
        query = query.where(Task.project_id == project_id)
    if project_name:
        query = query.where(
            Task.project_id.in_(select(Project.id).where(Project.name.ilike(f"%{project_name}%")))
        )
    if subset:
        query = query.where(Task.subset == subset)
    if mode:
        query = query.where(Task.mode == mode)
    if status:
        query = query.where(_status_clause(status))
    query = filters.apply(query, request.query_params, TASK_FILTERS)
    query = apply_sort(query, sort, TASK_SORT, Task.id.desc() if not sort else Task.id)
    return paginate(request, session, query, lambda rows: tasks_json(request, session, rows))


def _check_user(session: Session, user_id: int | None, field: str) -> None:
    if user_id is not None and session.get(User, user_id) is None:
        raise Invalid({field: [f"user {user_id} does not exist"]})


def _project_for_tasks(session: Session, user: User, project_id: int) -> Project:
    """The project a task is created in or moved to; its id is a field of the body (a 400)."""
    project = session.scalars(
        select(Project).where(Project.id == project_id, permissions.project_filter(user))
    ).first()
    if project is None:
        raise Invalid({"project_id": [f"project {project_id} not found"]})
    permissions.require(
        permissions.manages_project(user, project),
        "Only the project's owner or assignee may add tasks to it.",
    )
    return project


@router.post("/api/tasks", status_code=201, response_model=TaskRead, tags=TAGS)
def create_task(
    body: TaskWrite,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    # In an organization, a member who manages the project may add tasks to it.
    permissions.require_creator(user, "supervisor" if body.project_id is None else "worker")
    project = None
    if body.project_id is not None:
        project = _project_for_tasks(session, user, body.project_id)
    _check_user(session, body.assignee_id, "assignee_id")
    owner_id = body.owner_id if (body.owner_id and user.is_admin) else user.id
    task = service.create_task(
        session,
        name=body.name or "",
        owner_id=owner_id,
        project=project,
        labels=body.labels or [],
        segment_size=body.segment_size or 0,
        overlap=body.overlap,
        bug_tracker=body.bug_tracker or "",
        subset=body.subset or "",
        assignee_id=body.assignee_id,
    )
    # A task belongs to its project's organization, else to the request's.
    task.organization_id = project.organization_id if project else permissions.creation_org_id(user)
    session.flush()
    return tasks_json(request, session, [task])[0]


@router.get("/api/tasks/{task_id}", response_model=TaskRead, tags=TAGS)
def get_task(
    task: VisibleTask, request: Request, session: Session = Depends(db_session)
) -> dict[str, Any]:
    return tasks_json(request, session, [task])[0]


@router.patch("/api/tasks/{task_id}", response_model=TaskRead, tags=TAGS)
def update_task(
    task: ManagedTask,
    body: TaskWrite,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    fields = body.model_fields_set
    if "name" in fields and body.name is not None:
        if not body.name.strip():
            raise service.TaskError("a task needs a name")
        task.name = body.name.strip()
    if "bug_tracker" in fields:
        task.bug_tracker = body.bug_tracker or ""
    if "subset" in fields:
        task.subset = body.subset or ""
    if "assignee_id" in fields:
        _check_user(session, body.assignee_id, "assignee_id")
        task.assignee_id = body.assignee_id
        task.assignee_updated_date = utcnow()
    if "owner_id" in fields and body.owner_id is not None:
        permissions.require(
            user.is_admin or user.id == task.owner_id, "Only the owner may hand a task over."
        )
        _check_user(session, body.owner_id, "owner_id")
        task.owner_id = body.owner_id
    if "project_id" in fields and body.project_id != task.project_id:
        if body.project_id is None:
            raise service.TaskError("a task cannot leave its project")
        target = _project_for_tasks(session, user, body.project_id)
        if target.organization_id != task.organization_id:
            raise Invalid({"project_id": ["the project belongs to another organization"]})
        service.move_to_project(session, task, target)
    if body.labels:
        if task.project_id is not None:
            raise service.TaskError("this task uses its project's labels; change those")
        project_service.update_labels(session, body.labels, task_id=task.id)
    service.touch(session, task)
    session.flush()
    return tasks_json(request, session, [task])[0]


@router.delete("/api/tasks/{task_id}", status_code=204, tags=TAGS)
def delete_task(
    task: VisibleTask,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    project = project_of(session, task)
    allowed = (
        user.is_admin
        or user.id == task.owner_id
        or (project is not None and user.id == project.owner_id)
        or permissions.is_org_staff(user, task.organization_id)
    )
    permissions.require(allowed, "Only the task's owner (or its project's owner) may delete it.")
    audit.record(
        session,
        "task.deleted",
        user=user,
        address=audit.address_of(request),
        target=f"task {task.id} {task.name}",
    )
    service.delete_task(request.app.state.settings, session, task)
    return Response(status_code=204)


@router.delete("/api/projects/{project_id}", status_code=204, tags=["projects", "labels"])
def delete_project(
    project: VisibleProject,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    # Served here, not by the projects router: deleting a project deletes its tasks.
    permissions.require(
        permissions.may_delete(user, project.owner_id, project.organization_id),
        "Only the project's owner may delete it.",
    )
    audit.record(
        session,
        "project.deleted",
        user=user,
        address=audit.address_of(request),
        target=f"project {project.id} {project.name}",
    )
    # A project's webhooks are the project's (CVAT): they go with it, whoever made them,
    # in the same transaction, and the dispatcher forgets what they listened to.
    hooks = select(Webhook.id).where(Webhook.project_id == project.id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.webhook_id.in_(hooks)))
    session.execute(delete(Webhook).where(Webhook.project_id == project.id))
    service.delete_project(request.app.state.settings, session, project)
    dispatch.changed()
    return Response(status_code=204)


# ---- jobs --------------------------------------------------------------------------------


def jobs_json(request: Request, session: Session, jobs: list[Job]) -> list[dict[str, Any]]:
    task_ids = {j.task_id for j in jobs}
    tasks = {t.id: t for t in session.scalars(select(Task).where(Task.id.in_(task_ids)))}
    users = users_by_id(session, {j.assignee_id for j in jobs})
    issue_counts = review_service.issue_counts(session, [j.id for j in jobs])
    replica_counts: dict[int, int] = dict(
        session.execute(
            select(Job.parent_job_id, func.count())
            .where(Job.parent_job_id.in_([j.id for j in jobs]))
            .group_by(Job.parent_job_id)
        ).all()
    )
    project_ids = {t.project_id for t in tasks.values() if t.project_id}
    # A job shows its task's guide, else its project's (CVAT's Job.get_guide).
    guides = guide_ids(session, task_ids, project_ids)
    projects = (
        dict(
            session.execute(
                select(Project.id, Project.name).where(Project.id.in_(project_ids))
            ).all()
        )
        if project_ids
        else {}
    )
    return [
        {
            "url": absolute(request, f"/api/jobs/{j.id}"),
            "id": j.id,
            "task_id": j.task_id,
            "project_id": tasks[j.task_id].project_id,
            "assignee": basic_user(request, users.get(j.assignee_id)),
            "guide_id": guides.get(f"task:{j.task_id}")
            or guides.get(f"project:{tasks[j.task_id].project_id}"),
            "dimension": tasks[j.task_id].dimension,
            "bug_tracker": tasks[j.task_id].bug_tracker or None,
            "status": service.job_status(j.stage, j.state),
            "stage": j.stage,
            "state": j.state,
            "mode": tasks[j.task_id].mode,
            "frame_count": len(service.job_frames(j)),
            "start_frame": j.start_frame,
            "stop_frame": j.stop_frame,
            "data_chunk_size": tasks[j.task_id].chunk_size,
            "data_compressed_chunk_type": "imageset",
            "data_original_chunk_type": (
                "video" if tasks[j.task_id].mode == "interpolation" else "imageset"
            ),
            "created_date": j.created_date,
            "updated_date": j.updated_date,
            "issues": {
                "url": absolute(request, f"/api/issues?job_id={j.id}"),
                "count": issue_counts.get(j.id, 0),
            },
            "labels": {"url": absolute(request, f"/api/labels?job_id={j.id}")},
            "type": j.type,
            "organization": tasks[j.task_id].organization_id,
            "target_storage": None,
            "source_storage": None,
            "assignee_updated_date": j.assignee_updated_date,
            "parent_job_id": j.parent_job_id,
            "replicas_count": replica_counts.get(j.id, 0),
            "annotation_version": j.annotation_version,
            "task_name": tasks[j.task_id].name,
            "project_name": projects.get(tasks[j.task_id].project_id),
            "media_type": "image",
        }
        for j in jobs
    ]


JOB_SORT = {
    "id": Job.id,
    "task_id": Job.task_id,
    "assignee": Job.assignee_id,
    "stage": Job.stage,
    "state": Job.state,
    "start_frame": Job.start_frame,
    "updated_date": Job.updated_date,
}


def _task_column(column: Any) -> Any:
    return select(column).where(Task.id == Job.task_id).scalar_subquery()


# The terms CVAT's JobViewSet filters on.
JOB_FILTERS = {
    "id": filters.Field(Job.id),
    "task_id": filters.Field(Job.task_id),
    "project_id": filters.Field(_task_column(Task.project_id)),
    "task_name": filters.Field(_task_column(Task.name)),
    "project_name": filters.Field(
        select(Project.name).where(Project.id == _task_column(Task.project_id)).scalar_subquery()
    ),
    "assignee": filters.Field(_username(Job.assignee_id)),
    "type": filters.Field(Job.type),
    "stage": filters.Field(Job.stage),
    "state": filters.Field(Job.state),
    "dimension": filters.Field(_task_column(Task.dimension)),
    "mode": filters.Field(_task_column(Task.mode)),
    "media_type": filters.Field(equals=lambda v: true() if v == "image" else false()),
    "parent_job_id": filters.Field(Job.parent_job_id),
    "updated_date": filters.Field(Job.updated_date),
}


@router.get("/api/jobs", tags=TAGS)
def list_jobs(
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
    task_id: int | None = None,
    project_id: int | None = None,
    assignee: str | None = None,
    stage: str | None = None,
    state: str | None = None,
    type: str | None = None,
    parent_job_id: int | None = None,
    task_name: str | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    query = select(Job).where(permissions.job_filter(user))
    if parent_job_id is not None:
        query = query.where(Job.parent_job_id == parent_job_id)
    if task_id is not None:
        query = query.where(Job.task_id == task_id)
    if project_id is not None:
        query = query.where(Job.task_id.in_(select(Task.id).where(Task.project_id == project_id)))
    if task_name:
        query = query.where(
            Job.task_id.in_(select(Task.id).where(Task.name.ilike(f"%{task_name}%")))
        )
    if assignee:
        query = query.where(Job.assignee_id.in_(select(User.id).where(User.username == assignee)))
    if stage:
        query = query.where(Job.stage == stage)
    if state:
        query = query.where(Job.state == state)
    if type:
        query = query.where(Job.type == type)
    query = filters.apply(query, request.query_params, JOB_FILTERS)
    if not sort and user.role == "worker":
        # Workers see their own jobs first.
        query = query.order_by((Job.assignee_id == user.id).desc())
    query = apply_sort(query, sort, JOB_SORT, Job.id)
    return paginate(request, session, query, lambda rows: jobs_json(request, session, rows))


@router.post("/api/jobs", status_code=201, response_model=JobRead, tags=TAGS)
def create_job(
    body: GroundTruthWrite,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    # Only ground-truth jobs are made this way (CVAT's rule); the rules live in review.
    job = ground_truth.create_ground_truth(session, user, body)
    return jobs_json(request, session, [job])[0]


@router.delete("/api/jobs/{job_id}", status_code=204, tags=TAGS)
def delete_job(
    job: VisibleJob, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> Response:
    ground_truth.delete_job(session, user, job)
    return Response(status_code=204)


@router.get("/api/jobs/{job_id}", response_model=JobRead, tags=TAGS)
def get_job(
    job: VisibleJob, request: Request, session: Session = Depends(db_session)
) -> dict[str, Any]:
    return jobs_json(request, session, [job])[0]


@router.patch("/api/jobs/{job_id}", response_model=JobRead, tags=TAGS)
def update_job(
    job: VisibleJob,
    body: JobWrite,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    task = session.get(Task, job.task_id)
    fields = body.model_fields_set
    if ("assignee" in fields or "stage" in fields) and not permissions.manages_task(
        user, task, project_of(session, task)
    ):
        raise Forbidden(
            "Only the task's or project's owner or assignee may change a job's stage or assignee."
        )
    if "state" in fields:
        require_job_editor(session, user, job, task)
    if "assignee" in fields:
        _check_user(session, body.assignee, "assignee")
    service.update_job(
        job,
        stage=body.stage,
        state=body.state,
        assignee_id=body.assignee,
        assignee_set="assignee" in fields,
    )
    service.touch(session, task)
    return jobs_json(request, session, [job])[0]
