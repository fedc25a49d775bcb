"""Jobs of a backup: CVAT's segment layout, job stages, the ground-truth job, consensus replicas."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from labelvault.review.ground_truth import GROUND_TRUTH
from labelvault.tasks import service as tasks
from labelvault.tasks.models import Job, Task

from .base import ImportFailed


def segments(jobs: list[dict[str, Any]], size: int) -> tuple[int, int, bool]:
    """segment_size and overlap as CVAT derives them, and whether they reproduce the jobs."""
    if not jobs:
        return 0, 0, True
    first = jobs[0]
    segment_size = int(first["stop_frame"]) - int(first["start_frame"]) + 1
    overlap = 0 if len(jobs) == 1 else int(first["stop_frame"]) - int(jobs[1]["start_frame"]) + 1
    ranges = [(int(j["start_frame"]), int(j["stop_frame"])) for j in jobs]
    same = tasks.segment_ranges(size, segment_size, max(overlap, 0)) == ranges and not any(
        j.get("frames") for j in jobs
    )
    return segment_size, max(overlap, 0), same


def stage_state(job: dict[str, Any]) -> tuple[str, str]:
    stage, state = job.get("stage"), job.get("state")
    if stage in tasks.STAGES and state in tasks.STATES:
        return stage, state
    status = job.get("status")
    if status == "completed":
        return "acceptance", "completed"
    if status == "validation":
        return "validation", "new"
    return "annotation", "new"


def restore_ground_truth(
    session: Session,
    task: Task,
    job: dict[str, Any],
    flat: list[str],
    frame_map: list[int] | None,
    users: dict[str, int],
) -> None:
    """The backup's ground-truth job over the same images (CVAT: by file, or by frame)."""
    position = {name: i for i, name in enumerate(flat)}
    frames: set[int] = set()
    for f in job.get("files") or ():
        name = str(f).removeprefix("data/")
        if name not in position:
            raise ImportFailed(f"task.json: the ground-truth job lists {f!r}, not in data/")
        frames.add(position[name])
    if not job.get("files"):
        for f in job.get("frames") or range(
            int(job.get("start_frame") or 0), int(job.get("stop_frame") or 0) + 1
        ):
            frame = frame_map[int(f)] if frame_map is not None else int(f)
            if 0 <= frame < task.size:
                frames.add(frame)
    if not frames:
        raise ImportFailed("task.json: the ground-truth job has no frames")
    chosen = sorted(frames)
    stage, state = stage_state(job)
    assignee = assignee_name(job)
    row = Job(
        task_id=task.id,
        start_frame=chosen[0],
        stop_frame=chosen[-1],
        frames=chosen,
        type=GROUND_TRUTH,
        stage=stage,
        state=state,
        assignee_id=users.get(str(assignee)) if assignee else None,
    )
    session.add(row)
    session.flush()


def assignee_name(job: dict[str, Any]) -> str | None:
    """The username a backup's job names as its assignee (a name, or a user object)."""
    assignee = job.get("assignee")
    if isinstance(assignee, dict):
        assignee = assignee.get("username")
    return str(assignee) if assignee else None


def ordered_jobs(session: Session, task_id: int) -> list[Job]:
    """The task's annotation jobs, each followed by its consensus replicas (CVAT's order in
    task.json and annotations.json: by segment, then by job id)."""
    replicas: dict[int, list[Job]] = {}
    for replica in tasks.replicas_of(session, task_id):
        replicas.setdefault(replica.parent_job_id or 0, []).append(replica)
    out: list[Job] = []
    for job in tasks.jobs_of(session, task_id):
        out.append(job)
        out.extend(replicas.get(job.id, ()))
    return out


def restore_replicas(
    session: Session, task: Task, jobs: list[dict[str, Any]], users: dict[str, int]
) -> None:
    """The backup's consensus replicas, each over its parent's frames (CVAT's rule: a replica
    follows its annotation job in task.json); the task's count is the smallest per job."""
    parents = iter(tasks.jobs_of(session, task.id))
    parent: Job | None = None
    counts: list[int] = []
    for number, job in enumerate(jobs, 1):
        kind = job.get("type", tasks.ANNOTATION)
        if kind == tasks.ANNOTATION:
            parent = next(parents, None)
            counts.append(0)
            continue
        if kind != tasks.CONSENSUS_REPLICA:
            parent = None
            continue
        if parent is None:
            raise ImportFailed(
                f"task.json: job {number} is a consensus replica but does not follow an "
                "annotation job; list each replica right after its annotation job"
            )
        stage, state = stage_state(job)
        assignee = assignee_name(job)
        session.add(
            Job(
                task_id=task.id,
                parent_job_id=parent.id,
                type=tasks.CONSENSUS_REPLICA,
                start_frame=parent.start_frame,
                stop_frame=parent.stop_frame,
                frames=list(parent.frames) if parent.frames is not None else None,
                stage=stage,
                state=state,
                assignee_id=users.get(assignee) if assignee else None,
            )
        )
        counts[-1] += 1
    task.consensus_replicas = min(counts, default=0)
    session.flush()
