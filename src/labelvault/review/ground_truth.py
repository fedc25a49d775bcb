"""Ground-truth jobs: CVAT's `type: ground_truth` job over chosen frames (one per task)."""

from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.access.deps import require_task_manager, visible_task
from labelvault.accounts.models import User
from labelvault.db.base import utcnow
from labelvault.errors import Conflict, Invalid, NotFound
from labelvault.review.schemas import GroundTruthWrite
from labelvault.tasks.models import Job, Task
from labelvault.tasks.service import job_frames

GROUND_TRUTH = "ground_truth"


def ground_truth_job(session: Session, task_id: int) -> Job | None:
    return session.scalars(
        select(Job).where(Job.task_id == task_id, Job.type == GROUND_TRUTH)
    ).first()


def _rng(seed: int | None) -> np.random.Generator:
    # The generator is named, not the default, so a seed gives the same frames as in CVAT.
    return np.random.Generator(np.random.MT19937(seed=seed))


def _select_frames(session: Session, task: Task, body: GroundTruthWrite) -> list[int]:
    size = task.size
    method = body.frame_selection_method
    if method == "manual":
        if not body.frames:
            raise Invalid({"frames": ["list the frames of the ground-truth job"]})
        if len(set(body.frames)) != len(body.frames):
            raise Invalid({"frames": ["Frames must not repeat"]})
        bad = sorted(set(body.frames) - set(range(size)))
        if bad:
            raise Invalid(
                {"frames": [f"The following frames do not exist in the task: {bad} (size {size})"]}
            )
        return sorted(body.frames)
    if body.frames is not None:
        raise Invalid({"frames": ['"frames" can only be used when the method is "manual"']})
    if method == "random_uniform":
        if body.frame_count is not None:
            count = body.frame_count
            if count > size:
                raise Invalid(
                    {
                        "frame_count": [
                            f"The number of frames requested ({count}) must not be greater "
                            f"than the number of the task frames ({size})"
                        ]
                    }
                )
        elif body.frame_share is not None:
            count = max(1, int(body.frame_share * size))
        else:
            raise Invalid({"frame_count": ["give frame_count or frame_share"]})
        chosen = _rng(body.random_seed).choice(size, size=count, replace=False, shuffle=False)
        return sorted(int(f) for f in chosen)
    if method == "random_per_job":
        rng = _rng(body.random_seed)
        jobs = session.scalars(
            select(Job).where(Job.task_id == task.id, Job.type == "annotation").order_by(Job.id)
        )
        frames: set[int] = set()
        for job in jobs:
            own = sorted(set(job_frames(job)) - frames)
            if body.frames_per_job_count is not None:
                count = body.frames_per_job_count
            elif body.frames_per_job_share is not None:
                count = max(1, int(body.frames_per_job_share * len(own)))
            else:
                raise Invalid(
                    {"frames_per_job_count": ["give frames_per_job_count or frames_per_job_share"]}
                )
            count = min(count, len(own))
            frames.update(int(f) for f in rng.choice(own, size=count, replace=False))
        return sorted(frames)
    raise Invalid(
        {
            "frame_selection_method": [
                f"use one of: manual, random_uniform, random_per_job (got {method!r})"
            ]
        }
    )


def create_ground_truth(session: Session, user: User, body: GroundTruthWrite) -> Job:
    """A job of chosen frames whose annotations are the reference for quality reports."""
    if body.type != GROUND_TRUTH:
        raise Invalid(
            {"type": [f"Unexpected job type '{body.type}'; only ground_truth is created"]}
        )
    try:
        task = visible_task(session, user, body.task_id)
    except NotFound:
        raise Invalid({"task_id": [f"task {body.task_id} does not exist"]}) from None
    require_task_manager(session, user, task)
    if task.data_state != "ready" or not task.size:
        raise Invalid("This task has no data attached yet. Please set up task data and try again")
    if ground_truth_job(session, task.id) is not None:
        raise Conflict("This task already has a ground-truth job; delete it to make another")
    if body.assignee is not None and session.get(User, body.assignee) is None:
        raise Invalid({"assignee": [f"user {body.assignee} does not exist"]})
    frames = _select_frames(session, task, body)
    now = utcnow()
    job = Job(
        task_id=task.id,
        start_frame=frames[0],
        stop_frame=frames[-1],
        frames=frames,
        type=GROUND_TRUTH,
        stage="annotation",
        state="new",
        assignee_id=body.assignee,
        assignee_updated_date=now if body.assignee is not None else None,
        created_date=now,
        updated_date=now,
    )
    session.add(job)
    session.flush()
    return job


def delete_job(session: Session, user: User, job: Job) -> None:
    """Only a ground-truth job is deleted by itself (as in CVAT); others go with their task."""
    task = session.get(Task, job.task_id)
    require_task_manager(session, user, task)
    if job.type != GROUND_TRUTH:
        raise Invalid("Only ground-truth jobs can be deleted; annotation jobs go with their task")
    session.delete(job)
    session.flush()


def describe(job: Job) -> dict[str, Any]:
    return {"id": job.id, "frames": list(job_frames(job))}
