"""What to back up: every project and standalone task, each with a fingerprint of its state."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.backups.errors import BackupNotFound
from labelvault.projects.models import Label, Project
from labelvault.tasks.models import Job, Task

PAGE = 500


@dataclass
class Target:
    type: str  # "project" | "task"
    id: int
    name: str
    owner_id: int | None
    fingerprint: str
    uid: str | None = None  # never reused; keys its backups and schedule


def fingerprint_of(parts: list[Any]) -> str:
    return hashlib.sha256(orjson.dumps(parts, default=str)).hexdigest()


def iter_targets(session: Session) -> Iterator[Target]:
    """Every project and every task outside a project, page by page (all pages)."""
    last = 0
    while True:
        projects = list(
            session.scalars(
                select(Project).where(Project.id > last).order_by(Project.id).limit(PAGE)
            )
        )
        if not projects:
            break
        yield from _project_targets(session, projects)
        last = projects[-1].id
    last = 0
    while True:
        tasks = list(
            session.scalars(
                select(Task)
                .where(Task.project_id.is_(None), Task.id > last)
                .order_by(Task.id)
                .limit(PAGE)
            )
        )
        if not tasks:
            break
        yield from _task_targets(session, tasks)
        last = tasks[-1].id


def target(session: Session, target_type: str, target_id: int) -> Target:
    if target_type == "project":
        project = session.get(Project, target_id)
        if project is None:
            raise BackupNotFound(f"project {target_id} does not exist")
        return next(_project_targets(session, [project]))
    task = session.get(Task, target_id)
    if task is None or task.project_id is not None:
        raise BackupNotFound(f"task {target_id} does not exist outside a project")
    return next(_task_targets(session, [task]))


def instance_fingerprint(session: Session) -> str:
    """Changes whenever anything a snapshot holds changed (counts, dates, versions, users)."""
    parts = []
    for model, date_col in (
        (Project, Project.updated_date),
        (Task, Task.updated_date),
        (Job, Job.updated_date),
    ):
        parts.append(
            list(session.execute(select(func.count(), func.max(date_col)).select_from(model)).one())
        )
    parts.append(session.scalar(select(func.coalesce(func.sum(Job.annotation_version), 0))))
    parts.append(list(session.execute(select(func.count(), func.max(User.id))).one()))
    return fingerprint_of(parts)


def _job_rows(session: Session, task_ids: list[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    if task_ids:
        rows = session.execute(
            select(
                Job.task_id,
                Job.id,
                Job.updated_date,
                Job.annotation_version,
                Job.stage,
                Job.state,
                Job.assignee_id,
            )
            .where(Job.task_id.in_(task_ids))
            .order_by(Job.id)
        )
        for row in rows:
            out.setdefault(row[0], []).append(list(row[1:]))
    return out


def _label_rows(session: Session, column: Any, ids: list[int]) -> dict[int, list[Any]]:
    out: dict[int, list[Any]] = {}
    rows = session.execute(
        select(column, Label.id, Label.name, Label.color, Label.type, Label.svg)
        .where(column.in_(ids))
        .order_by(Label.id)
    )
    for row in rows:
        out.setdefault(row[0], []).append(list(row[1:]))
    return out


def _task_state(task: Task, jobs: dict[int, list[Any]]) -> list[Any]:
    return [
        task.id,
        task.name,
        task.updated_date,
        task.size,
        task.data_state,
        jobs.get(task.id, []),
    ]


def _project_targets(session: Session, projects: list[Project]) -> Iterator[Target]:
    ids = [p.id for p in projects]
    tasks = list(session.scalars(select(Task).where(Task.project_id.in_(ids)).order_by(Task.id)))
    jobs = _job_rows(session, [t.id for t in tasks])
    labels = _label_rows(session, Label.project_id, ids)
    by_project: dict[int, list[Task]] = {}
    for task in tasks:
        by_project.setdefault(task.project_id, []).append(task)  # type: ignore[arg-type]
    for p in projects:
        state = [p.name, p.updated_date, labels.get(p.id, [])]
        state += [_task_state(t, jobs) for t in by_project.get(p.id, [])]
        yield Target("project", p.id, p.name, p.owner_id, fingerprint_of(state), p.uid)


def _task_targets(session: Session, tasks: list[Task]) -> Iterator[Target]:
    jobs = _job_rows(session, [t.id for t in tasks])
    labels = _label_rows(session, Label.task_id, [t.id for t in tasks])
    for t in tasks:
        state = [_task_state(t, jobs), labels.get(t.id, [])]
        yield Target("task", t.id, t.name, t.owner_id, fingerprint_of(state), t.uid)
