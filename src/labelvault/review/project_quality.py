"""A project's quality report: its tasks' reports made afresh, and their tallies summed."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.access.deps import require_project_manager
from labelvault.accounts.models import User
from labelvault.db.base import utcnow
from labelvault.errors import Invalid
from labelvault.projects.models import Project
from labelvault.review.ground_truth import GROUND_TRUTH
from labelvault.review.matching import Tally
from labelvault.review.models import QualityReport
from labelvault.review.quality import label_names, report_data, settings_of, task_report
from labelvault.tasks.models import Job, Task


def checkable_tasks(session: Session, project_id: int) -> list[int]:
    """The project's tasks that have a ground-truth job, in id order."""
    with_gt = select(Job.task_id).where(Job.type == GROUND_TRUTH)
    return list(
        session.scalars(
            select(Task.id)
            .where(Task.project_id == project_id, Task.id.in_(with_gt))
            .order_by(Task.id)
        )
    )


def prepare_project_report(session: Session, user: User, project: Project) -> None:
    """Check a project report can be made and make the task settings it reads."""
    require_project_manager(user, project)
    tasks = checkable_tasks(session, project.id)
    if not tasks:
        raise Invalid(
            "No task of this project has a ground-truth job: create one in a task (POST "
            "/api/jobs with type=ground_truth) and annotate it first"
        )
    for task_id in tasks:
        settings_of(session, task_id)


def compute_project_report(
    session: Session, project_id: int, progress: Callable[[float, str], None]
) -> QualityReport:
    """One project report over a fresh task report (with its job reports) per checkable task.

    The counts are summed over every compared frame of every task, so the project's
    precision and recall weigh each annotation alike (not each task).
    """
    project = session.get(Project, project_id)
    if project is None:
        raise Invalid("the project is gone")
    tasks = checkable_tasks(session, project_id)
    all_tasks = list(session.scalars(select(Task).where(Task.project_id == project_id)))
    # Progress is written in its own transaction, which must not wait behind this one's
    # writes (SQLite has one writer): it is told before the first write only.
    progress(0.0, f"Comparing {len(tasks)} tasks with their ground truth")
    now = utcnow()
    row = QualityReport(
        project_id=project_id,
        target="project",
        summary={},
        data={},
        assignee_id=project.assignee_id,
        created_date=now,
        target_last_updated=project.updated_date,
        gt_last_updated=project.updated_date,
    )
    session.add(row)
    session.flush()
    total = Tally()
    names: dict[int, str] = {}
    frames = 0
    parameters: dict = {}
    gt_updated = []
    for task_id in tasks:
        child, tally = task_report(session, task_id, lambda *_: None, parent_id=row.id)
        total.merge(tally)
        task = session.get(Task, task_id)
        names.update(label_names(session, task))
        frames += task.size
        parameters = child.data.get("parameters", parameters)
        gt_updated.append(child.gt_last_updated)
    summary = total.summary(sum(t.size for t in all_tasks))
    summary["tasks"] = {
        "total": len(all_tasks),
        "custom": 0,
        "not_configured": len(all_tasks) - len(tasks),
        "excluded": 0,
        "included": len(tasks),
    }
    row.summary = summary
    row.data = report_data(total, names, parameters, frames)
    row.gt_last_updated = max(gt_updated) if gt_updated else row.gt_last_updated
    session.flush()
    return row
