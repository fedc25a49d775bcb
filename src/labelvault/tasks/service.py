"""Rules of tasks and jobs: creation, segments → jobs, stage/state, derived statuses."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from labelvault.config import Settings
from labelvault.db.base import utcnow
from labelvault.errors import Invalid
from labelvault.projects import service as project_service
from labelvault.projects.models import Project
from labelvault.projects.schemas import LabelWrite
from labelvault.tasks.models import Job, Task

ANNOTATION = "annotation"
CONSENSUS_REPLICA = "consensus_replica"
STAGES = ("annotation", "validation", "acceptance")
STATES = ("new", "in progress", "completed", "rejected")
# CVAT's default ceiling; more jobs than this make a task unusable in its UI anyway.
MAX_JOBS_PER_TASK = 10_000


class TaskError(Invalid):
    """A task or job rule was broken; the message says what to change (a 400)."""


def task_media_dir(settings: Settings, task_id: int) -> Path:
    return settings.media_dir / "tasks" / str(task_id)


def create_task(
    session: Session,
    *,
    name: str,
    owner_id: int,
    project: Project | None,
    labels: list[LabelWrite],
    segment_size: int = 0,
    overlap: int | None = None,
    bug_tracker: str = "",
    subset: str = "",
    assignee_id: int | None = None,
) -> Task:
    name = name.strip()
    if not name:
        raise TaskError("a task needs a name")
    if segment_size < 0:
        raise TaskError("segment_size must be 0 (one job) or positive")
    if overlap is not None and overlap < 0:
        raise TaskError("overlap must not be negative")
    if project is not None and labels:
        raise TaskError("a task in a project uses the project's labels; send labels: []")
    # A task may start without labels (CVAT allows it) and get them later by PATCH.
    now = utcnow()
    task = Task(
        name=name,
        owner_id=owner_id,
        project_id=project.id if project else None,
        segment_size=segment_size,
        overlap=overlap,
        bug_tracker=bug_tracker or "",
        subset=subset or "",
        assignee_id=assignee_id,
        created_date=now,
        updated_date=now,
        assignee_updated_date=now if assignee_id else None,
        deleted_frames=[],
    )
    session.add(task)
    session.flush()
    if labels:
        project_service.create_labels(session, labels, task_id=task.id)
    if project is not None:
        project_service.touch(project)
    return task


def segment_ranges(size: int, segment_size: int, overlap: int) -> list[tuple[int, int]]:
    """Frame ranges [start, stop] of the jobs of a task of `size` frames."""
    if size <= 0:
        return []
    if segment_size <= 0 or segment_size >= size:
        return [(0, size - 1)]
    overlap = min(overlap, segment_size - 1)
    step = segment_size - overlap
    ranges = []
    start = 0
    while True:
        stop = min(start + segment_size - 1, size - 1)
        ranges.append((start, stop))
        if stop == size - 1:
            return ranges
        start += step


def create_jobs(
    session: Session, task: Task, frame_sets: Iterable[list[int]] | None = None
) -> None:
    """Cut the task's frames into jobs, by segment_size/overlap or an explicit mapping."""
    now = utcnow()
    if frame_sets is not None:
        jobs = [
            Job(
                task_id=task.id,
                start_frame=min(f),
                stop_frame=max(f),
                frames=sorted(f),
                created_date=now,
                updated_date=now,
            )
            for f in frame_sets
            if f
        ]
    else:
        ranges = segment_ranges(task.size, task.segment_size, task.overlap or 0)
        jobs = [
            Job(task_id=task.id, start_frame=a, stop_frame=b, created_date=now, updated_date=now)
            for a, b in ranges
        ]
    if len(jobs) > MAX_JOBS_PER_TASK:
        raise TaskError(
            f"this would make {len(jobs)} jobs (limit {MAX_JOBS_PER_TASK}); "
            "use a larger segment_size"
        )
    session.add_all(jobs)


def job_frames(job: Job) -> range | list[int]:
    return job.frames if job.frames is not None else range(job.start_frame, job.stop_frame + 1)


def job_status(stage: str, state: str) -> str:
    if stage == "annotation":
        return "annotation"
    if stage == "acceptance" and state == "completed":
        return "completed"
    return "validation"


def task_status(job_statuses: list[str]) -> str:
    """A task is as far as its least advanced job (CVAT's rule)."""
    if not job_statuses or "annotation" in job_statuses:
        return "annotation"
    if "validation" in job_statuses:
        return "validation"
    return "completed"


def update_job(
    job: Job, *, stage: str | None, state: str | None, assignee_id: int | None, assignee_set: bool
) -> None:
    if stage is not None:
        if stage not in STAGES:
            raise TaskError(f"stage must be one of {', '.join(STAGES)}")
        if stage != job.stage and state is None:
            state = "new"  # a job moved to another stage starts that stage afresh
        job.stage = stage
    if state is not None:
        if state not in STATES:
            raise TaskError(f"state must be one of {', '.join(STATES)}")
        job.state = state
    if assignee_set:
        job.assignee_id = assignee_id
        job.assignee_updated_date = utcnow()
    job.updated_date = utcnow()


def touch(session: Session, task: Task) -> None:
    task.updated_date = utcnow()
    if task.project_id is not None:
        project = session.get(Project, task.project_id)
        if project is not None:
            project_service.touch(project)


# Moves a task's stored objects onto other labels and attribute specs: (session, the task's
# job ids, the mapping). Annotations register theirs here, since they sit above tasks and
# tasks may not import them.
LabelRemap = Callable[[Session, Select[tuple[int]], project_service.LabelMapping], None]
label_remaps: list[LabelRemap] = []


def on_labels_moved(remap: LabelRemap) -> None:
    if remap not in label_remaps:
        label_remaps.append(remap)


def move_to_project(session: Session, task: Task, project: Project) -> None:
    """Move a task (on its own or from another project) into a project: every object's label
    and attribute ids follow onto the project's by name; a label the project lacks is a 400."""
    if task.project_id == project.id:
        return
    if task.project_id is None:
        source = project_service.label_infos(session, task_id=task.id)
    else:
        source = project_service.label_infos(session, project_id=task.project_id)
    target = project_service.label_infos(session, project_id=project.id)
    mapping = project_service.map_labels(source, target)
    job_ids = select(Job.id).where(Job.task_id == task.id)
    for remap in label_remaps:
        remap(session, job_ids, mapping)
    old_project = session.get(Project, task.project_id) if task.project_id else None
    task.project_id = project.id
    session.flush()
    if old_project is None:
        for lbl in project_service.labels_of(session, task_id=task.id):
            if lbl.parent_id is None:
                session.delete(lbl)
    else:
        project_service.touch(old_project)
    project_service.touch(project)


def delete_task(settings: Settings, session: Session, task: Task) -> None:
    """A task goes with its jobs, labels and annotations (the database cascades) and its files."""
    session.delete(task)
    session.flush()
    shutil.rmtree(task_media_dir(settings, task.id), ignore_errors=True)


def delete_project(settings: Settings, session: Session, project: Project) -> None:
    """A project goes with every task in it (as delete_task) and its label schema."""
    for task in session.scalars(select(Task).where(Task.project_id == project.id)):
        delete_task(settings, session, task)
    project_service.delete_project(session, project)


def jobs_of(
    session: Session, task_id: int, ground_truth: bool = False, replicas: bool = False
) -> list[Job]:
    """A task's annotation jobs; its ground-truth job (a reference for quality reports) and
    consensus replicas (extra annotations of a job's frames), neither part of the task's
    annotations, exports or job counts, only when asked for."""
    kinds = [ANNOTATION]
    if ground_truth:
        kinds.append("ground_truth")
    if replicas:
        kinds.append(CONSENSUS_REPLICA)
    query = select(Job).where(Job.task_id == task_id, Job.type.in_(kinds))
    return list(session.scalars(query.order_by(Job.id)))


def replicas_of(session: Session, task_id: int) -> list[Job]:
    """A task's consensus replica jobs, in the order they were made."""
    query = select(Job).where(Job.task_id == task_id, Job.type == CONSENSUS_REPLICA)
    return list(session.scalars(query.order_by(Job.id)))
