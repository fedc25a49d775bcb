"""Endpoints for projects and labels (/api/projects, /api/labels)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from sqlalchemy import false, or_, select, true
from sqlalchemy.orm import Session

from labelvault import filters
from labelvault.access import permissions
from labelvault.access.deps import (
    ManagedProject,
    VisibleProject,
    project_task_summaries,
    require_label_manager,
    visible_job,
    visible_project,
    visible_task,
)
from labelvault.accounts.auth import current_user
from labelvault.accounts.models import User
from labelvault.accounts.replies import basic_user, users_by_id
from labelvault.db.base import utcnow
from labelvault.errors import Invalid, NotFound
from labelvault.guides.service import guide_ids
from labelvault.http import absolute, apply_sort, db_session, paginate
from labelvault.observability import audit
from labelvault.projects import service
from labelvault.projects.models import Label, Project
from labelvault.projects.schemas import LabelRead, LabelWrite, ProjectRead, ProjectWrite

router = APIRouter(tags=["projects", "labels"])

PROJECT_SORT = {
    "id": Project.id,
    "name": Project.name,
    "created_date": Project.created_date,
    "updated_date": Project.updated_date,
    "owner": Project.owner_id,
    "assignee": Project.assignee_id,
    "status": Project.id,
}


def projects_json(request: Request, session: Session, projects: list[Project]) -> list[dict]:
    counts, subsets = project_task_summaries(session, [p.id for p in projects])
    users = users_by_id(session, {p.owner_id for p in projects} | {p.assignee_id for p in projects})
    guides = guide_ids(session, [], [p.id for p in projects])
    return [
        {
            "url": absolute(request, f"/api/projects/{p.id}"),
            "id": p.id,
            "name": p.name,
            "labels": {"url": absolute(request, f"/api/labels?project_id={p.id}")},
            "tasks": {
                "count": counts.get(p.id, 0),
                "url": absolute(request, f"/api/tasks?project_id={p.id}"),
            },
            "owner": basic_user(request, users.get(p.owner_id)),
            "assignee": basic_user(request, users.get(p.assignee_id)),
            "guide_id": guides.get(f"project:{p.id}"),
            "bug_tracker": p.bug_tracker,
            "task_subsets": sorted(subsets.get(p.id, set())),
            "created_date": p.created_date,
            "updated_date": p.updated_date,
            "status": "annotation",
            "dimension": "2d" if counts.get(p.id) else None,
            "organization": p.organization_id,
            "organization_id": p.organization_id,
            "target_storage": None,
            "source_storage": None,
            "assignee_updated_date": p.assignee_updated_date,
        }
        for p in projects
    ]


def _check_user(session: Session, user_id: int | None, role: str) -> None:
    if user_id is not None and session.get(User, user_id) is None:
        raise Invalid({f"{role}_id": [f"user {user_id} does not exist"]})


def _username(column: Any) -> Any:
    return select(User.username).where(User.id == column).scalar_subquery()


# The terms CVAT's ProjectViewSet filters on. A project's status is "annotation" here.
PROJECT_FILTERS = {
    "id": filters.Field(Project.id),
    "name": filters.Field(Project.name),
    "owner": filters.Field(_username(Project.owner_id)),
    "assignee": filters.Field(_username(Project.assignee_id)),
    "updated_date": filters.Field(Project.updated_date),
    "status": filters.Field(equals=lambda v: true() if v == "annotation" else false()),
}

_Parent = Label.__table__.alias("parent_label")
# The terms CVAT's LabelViewSet filters on.
LABEL_FILTERS = {
    "id": filters.Field(Label.id),
    "name": filters.Field(Label.name),
    "type": filters.Field(Label.type),
    "color": filters.Field(Label.color),
    "parent_id": filters.Field(Label.parent_id),
    "parent": filters.Field(
        select(_Parent.c.name).where(_Parent.c.id == Label.parent_id).scalar_subquery()
    ),
}


@router.get("/api/projects")
def list_projects(
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
    name: str | None = None,
    search: str | None = None,
    owner: str | None = None,
    assignee: str | None = None,
    sort: str | None = None,
    id: int | None = None,
) -> dict[str, Any]:
    query = select(Project).where(permissions.project_filter(user))
    if id is not None:
        query = query.where(Project.id == id)
    if name:
        query = query.where(Project.name.ilike(f"%{name}%"))
    if search:
        owners = select(User.id).where(User.username.ilike(f"%{search}%"))
        query = query.where(or_(Project.name.ilike(f"%{search}%"), Project.owner_id.in_(owners)))
    for value, column in ((owner, Project.owner_id), (assignee, Project.assignee_id)):
        if value:
            query = query.where(column.in_(select(User.id).where(User.username == value)))
    query = filters.apply(query, request.query_params, PROJECT_FILTERS)
    query = apply_sort(query, sort, PROJECT_SORT, Project.id.desc() if not sort else Project.id)
    return paginate(request, session, query, lambda rows: projects_json(request, session, rows))


@router.post("/api/projects", status_code=201, response_model=ProjectRead)
def create_project(
    body: ProjectWrite,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    permissions.require_creator(user)
    _check_user(session, body.assignee_id, "assignee")
    owner_id = body.owner_id if (body.owner_id and user.is_admin) else user.id
    _check_user(session, owner_id, "owner")
    project = service.create_project(
        session,
        body.name or "",
        owner_id,
        body.labels or [],
        body.bug_tracker or "",
        body.assignee_id,
    )
    project.organization_id = permissions.creation_org_id(user)
    session.flush()
    return projects_json(request, session, [project])[0]


@router.get("/api/projects/{project_id}", response_model=ProjectRead)
def get_project(
    project: VisibleProject, request: Request, session: Session = Depends(db_session)
) -> dict[str, Any]:
    return projects_json(request, session, [project])[0]


@router.patch("/api/projects/{project_id}", response_model=ProjectRead)
def update_project(
    project: ManagedProject,
    body: ProjectWrite,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    fields = body.model_fields_set
    if "name" in fields and body.name is not None:
        if not body.name.strip():
            raise service.LabelError("a project needs a name")
        project.name = body.name.strip()
    if "bug_tracker" in fields:
        project.bug_tracker = body.bug_tracker or ""
    if "assignee_id" in fields:
        _check_user(session, body.assignee_id, "assignee")
        project.assignee_id = body.assignee_id
        project.assignee_updated_date = utcnow()
    if "owner_id" in fields and body.owner_id is not None:
        permissions.require(
            user.is_admin or user.id == project.owner_id,
            "Only the owner may hand a project over.",
        )
        _check_user(session, body.owner_id, "owner")
        project.owner_id = body.owner_id
    if body.labels is not None:
        service.update_labels(session, body.labels, project_id=project.id)
    service.touch(project)
    session.flush()
    return projects_json(request, session, [project])[0]


# ---- labels ------------------------------------------------------------------------------


def _labels_query(
    session: Session, user: User, project_id: int | None, task_id: int | None, job_id: int | None
):  # type: ignore[no-untyped-def]
    query = select(Label).where(Label.parent_id.is_(None))
    if job_id is not None:
        task_id = visible_job(session, user, job_id).task_id
    if task_id is not None:
        task = visible_task(session, user, task_id)
        if task.project_id is not None:
            return query.where(Label.project_id == task.project_id)
        return query.where(Label.task_id == task.id)
    if project_id is not None:
        visible_project(session, user, project_id)
        return query.where(Label.project_id == project_id)
    return query.where(
        or_(
            Label.project_id.in_(permissions.visible_project_ids(user)),
            Label.task_id.in_(permissions.visible_task_ids(user)),
        )
    )


def _with_children(session: Session, labels: list[Label]) -> list[dict[str, Any]]:
    ids = [lbl.id for lbl in labels]
    children = (
        list(session.scalars(select(Label).where(Label.parent_id.in_(ids)).order_by(Label.id)))
        if ids
        else []
    )
    return service.labels_json(session, labels + children)


@router.get("/api/labels")
def list_labels(
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
    project_id: int | None = None,
    task_id: int | None = None,
    job_id: int | None = None,
    name: str | None = None,
    type: str | None = None,
    sort: str | None = None,
) -> dict[str, Any]:
    query = _labels_query(session, user, project_id, task_id, job_id)
    if name:
        query = query.where(Label.name == name)
    if type:
        query = query.where(Label.type == type)
    query = filters.apply(query, request.query_params, LABEL_FILTERS)
    query = apply_sort(query, sort, {"id": Label.id, "name": Label.name}, Label.id)
    return paginate(request, session, query, lambda rows: _with_children(session, list(rows)))


def _label_or_404(session: Session, user: User, label_id: int) -> Label:
    label = session.get(Label, label_id)
    if label is None:
        raise NotFound.of("Label")
    root = session.get(Label, label.parent_id) if label.parent_id else label
    owner_query = _labels_query(session, user, None, None, None).where(Label.id == root.id)
    if session.scalars(owner_query).first() is None:
        raise NotFound.of("Label")
    return label


@router.get("/api/labels/{label_id}", response_model=LabelRead)
def get_label(
    label_id: int, user: User = Depends(current_user), session: Session = Depends(db_session)
) -> dict[str, Any]:
    label = _label_or_404(session, user, label_id)
    return service.label_json(session, label)


@router.patch("/api/labels/{label_id}", response_model=LabelRead)
def update_label(
    label_id: int,
    body: LabelWrite,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> dict[str, Any]:
    label = _label_or_404(session, user, label_id)
    require_label_manager(session, user, label)
    body.id = label.id
    service.update_labels(session, [body], project_id=label.project_id, task_id=label.task_id)
    session.flush()
    return service.label_json(session, label)


@router.delete("/api/labels/{label_id}", status_code=204)
def delete_label(
    label_id: int,
    request: Request,
    user: User = Depends(current_user),
    session: Session = Depends(db_session),
) -> Response:
    label = _label_or_404(session, user, label_id)
    require_label_manager(session, user, label)
    audit.record(
        session,
        "label.deleted",
        user=user,
        address=audit.address_of(request),
        target=f"label {label.id} {label.name}",
    )
    session.delete(label)
    return Response(status_code=204)
