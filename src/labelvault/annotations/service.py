"""Rules of saving annotations: where a write may go, the job version it claims, and events.

A write validates the whole payload first (validation.py), then claims the job's next
version, then lets store.py write it in the same transaction: a payload with one bad object
writes nothing, and a save based on an old version is refused before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from labelvault.annotations import events, store, streamed
from labelvault.annotations.store import (
    Written,
    clear,
    count,
    frame_window,
    read,
    read_parts,
    render,
    shape_elements,
    shapes_page,
    sync_id_range,
    tags_page,
    track_rows,
)
from labelvault.annotations.validation import (
    AnnotationError,
    Refusal,
    Rows,
    Scope,
    build_rows,
    parse,
    refusal,
)
from labelvault.db.base import utcnow
from labelvault.errors import Invalid, PreconditionFailed
from labelvault.observability.metrics import SAVES
from labelvault.projects import service as project_service
from labelvault.projects.models import Project
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Job, Task

ACTIONS = ("create", "update", "delete")
Payload = dict[str, list[Any]]


def _relabel(session: Session, job_ids: Any, mapping: project_service.LabelMapping) -> None:
    """Objects of a task that moves into a project follow its labels onto the project's; the
    journal hears the jobs' new content, so a replay does not bring the old label ids back."""
    store.relabel(session, job_ids, mapping)
    announce_jobs(session, list(session.scalars(job_ids)))


task_service.on_labels_moved(_relabel)


def touch_jobs(session: Session, job_ids: list[int]) -> None:
    """Every annotation change moves the updated_date of its jobs, their task and its project
    (CVAT's _set_updated_date): cvat_sdk.datasets' cache keys on the task's updated_date."""
    if not job_ids:
        return
    now = utcnow()
    jobs, tasks, projects = Job.__table__, Task.__table__, Project.__table__
    session.execute(update(jobs).where(jobs.c.id.in_(job_ids)).values(updated_date=now))
    task_ids = select(jobs.c.task_id).where(jobs.c.id.in_(job_ids))
    session.execute(update(tasks).where(tasks.c.id.in_(task_ids)).values(updated_date=now))
    project_ids = select(tasks.c.project_id).where(tasks.c.id.in_(task_ids))
    session.execute(update(projects).where(projects.c.id.in_(project_ids)).values(updated_date=now))
    # The ORM copies of these rows (the endpoint's job or task) must not reply stale dates.
    for obj in list(session.identity_map.values()):
        if isinstance(obj, (Job, Task, Project)):
            session.expire(obj, ["updated_date"])


# ---- where a write goes --------------------------------------------------------------------


def _labels(session: Session, task: Task) -> dict[int, project_service.LabelInfo]:
    if task.project_id is not None:
        return project_service.label_infos(session, project_id=task.project_id)
    return project_service.label_infos(session, task_id=task.id)


def job_scope(session: Session, job: Job, task: Task | None = None) -> Scope:
    """A job's frames and its task's labels."""
    task = task or session.get(Task, job.task_id)
    return Scope(
        job_ids=[job.id],
        labels=_labels(session, task),
        frame_min=job.start_frame,
        frame_max=job.stop_frame,
        frame_set=frozenset(job.frames) if job.frames is not None else None,
    )


def task_scope(session: Session, task: Task) -> Scope:
    """All of a task's frames; each object is stored in the job its frame belongs to."""
    jobs = task_service.jobs_of(session, task.id)
    if not jobs:
        raise Invalid("this task has no data yet, so it has no frames to annotate")
    owner: dict[int, int] = {}
    for job in jobs:
        for frame in task_service.job_frames(job):
            owner.setdefault(frame, job.id)  # overlapping frames belong to the first job
    return Scope(
        job_ids=[j.id for j in jobs],
        labels=_labels(session, task),
        frame_min=0,
        frame_max=max(task.size - 1, 0),
        frame_set=frozenset(owner),
        job_of_frame=owner.__getitem__,
    )


# ---- versions ------------------------------------------------------------------------------


def claim(session: Session, job_id: int, expected: int | None) -> int:
    """Take the job for this write and give it its next version, before anything is written.

    The update locks the job row, so two saves of one job run one after the other; with
    an expected version (If-Match), a save based on an older one is refused instead of
    overwriting newer work.
    """
    query = update(Job).where(Job.id == job_id)
    if expected is not None:
        query = query.where(Job.annotation_version == expected)
    version = session.execute(
        query.values(annotation_version=Job.annotation_version + 1).returning(
            Job.annotation_version
        )
    ).scalar()
    if version is None:
        current = session.scalar(select(Job.annotation_version).where(Job.id == job_id))
        raise PreconditionFailed(
            f"This job was saved elsewhere since you loaded it (now version "
            f"{current}, yours {expected}); reload the job, then save again."
        )
    return version


def _check_version(session: Session, job_id: int, expected: int | None) -> None:
    if expected is None:
        return
    current = session.scalar(select(Job.annotation_version).where(Job.id == job_id))
    if current != expected:
        raise PreconditionFailed(
            f"This job was saved elsewhere since you loaded it (now version "
            f"{current}, yours {expected}); reload the job, then save again."
        )


def bump(session: Session, job_ids: list[int]) -> int:
    """Increment the annotation version of the jobs atomically; returns the new (highest) one."""
    session.execute(
        update(Job).where(Job.id.in_(job_ids)).values(annotation_version=Job.annotation_version + 1)
    )
    return max(session.scalars(select(Job.annotation_version).where(Job.id.in_(job_ids))))


def version(session: Session, job_ids: list[int]) -> int:
    versions = list(session.scalars(select(Job.annotation_version).where(Job.id.in_(job_ids))))
    return max(versions) if versions else 0


# ---- writing -------------------------------------------------------------------------------


def _as_payload(data: Any) -> Payload:
    """Callers may pass the parsed JSON or a schemas.LabeledData model (importers do)."""
    if isinstance(data, dict):
        return {key: data.get(key) or [] for key in ("tags", "shapes", "tracks")}
    dumped = data.model_dump(exclude_none=True)
    return {key: dumped.get(key) or [] for key in ("tags", "shapes", "tracks")}


def _nothing() -> None:
    return None


def replace(
    session: Session, scope: Scope, data: Payload, before_write: Callable[[], Any] = _nothing
) -> Written:
    """PUT: the payload becomes the whole content of the scope's jobs.

    `before_write` runs once the payload is valid and before anything is written (saves
    claim the job's next version there, locking it only for the write itself).
    """
    rows = build_rows(_as_payload(data), scope)
    before_write()
    conn = session.connection()
    store.clear(conn, scope.job_ids)
    written = store.insert(conn, rows)
    touch_jobs(session, scope.job_ids)
    events.stage(session, scope.job_ids, "replace", lambda: written.reply(0))
    return written


def clear_jobs(session: Session, job_ids: list[int]) -> None:
    """DELETE: the jobs keep no annotations."""
    store.clear(session.connection(), job_ids)
    touch_jobs(session, job_ids)
    events.stage(session, job_ids, "replace", lambda: render(0, ([], [], [])))


def _payload_id(obj: Any) -> int | None:
    value = obj.get("id") if isinstance(obj, dict) else None
    if type(value) is int or (type(value) is float and value.is_integer()):
        return int(value)
    return None


def _found_ids(session: Session, scope: Scope, data: Payload, action: str) -> dict[str, set[int]]:
    """The stored objects an update or delete names; each one must exist in the scope (an
    update's objects without an id are new ones)."""
    errors: list[Refusal] = []
    found_ids: dict[str, set[int]] = {}
    conn = session.connection()
    for name in ("tags", "shapes", "tracks"):
        objects = data[name]
        ids = [_payload_id(o) for o in objects]
        missing_id = [i for i, object_id in enumerate(ids) if object_id is None]
        for index in missing_id[:5] if action != "update" else ():
            reason = f"an id is required to {action} an object"
            errors.append(refusal(name, index, "id", reason, objects[index]))
        found = store.existing_ids(conn, name, scope.job_ids, [i for i in ids if i is not None])
        found_ids[name] = found
        for index, object_id in enumerate(ids):
            if object_id is not None and object_id not in found and len(errors) < 20:
                reason = f"no {name[:-1]} {object_id} in this job"
                errors.append(refusal(name, index, "id", reason, objects[index]))
    if errors:
        raise AnnotationError(errors)
    return found_ids


def patch(
    session: Session,
    scope: Scope,
    data: Payload,
    action: str,
    before_write: Callable[[], Any] = _nothing,
) -> Written:
    """PATCH ?action=create|update|delete, matching existing objects by id."""
    if action not in ACTIONS:
        reason = f"action must be one of {', '.join(ACTIONS)}"
        raise AnnotationError([Refusal(reason, reason, field="action")])
    data = _as_payload(data)
    conn = session.connection()
    if action == "create":
        rows = build_rows(data, scope)
        before_write()
        created = store.insert(conn, rows)
        touch_jobs(session, scope.job_ids)
        events.stage(session, scope.job_ids, "create", lambda: created.reply(0))
        return created
    found = _found_ids(session, scope, data, action)
    if action == "delete":
        before_write()
        deleted = store.delete_ids(conn, found)
        touch_jobs(session, scope.job_ids)
        events.stage(session, scope.job_ids, "delete", deleted.ids_only)
        return deleted
    # CVAT's update is delete-by-id then create: named objects are replaced whole (keeping
    # their ids), objects without an id are created.
    rows = build_rows(data, scope)
    old, new = split_rows(rows)
    before_write()
    updated = store.update_rows(conn, old, found)
    created = store.insert(conn, new)
    merged = store.merge(updated, created)
    touch_jobs(session, scope.job_ids)
    events.stage(session, scope.job_ids, "update", lambda: merged.reply(0))
    return merged


def split_rows(rows: Rows) -> tuple[Rows, Rows]:
    """The rows of objects the payload gave ids, and those of objects it did not."""
    old, new = Rows(), Rows()
    for kind, parts in (
        ("tags", ("tags",)),
        ("shapes", ("shapes", "elements")),
        ("tracks", ("tracks", "track_shapes", "sub_tracks")),
    ):
        for index, object_id in enumerate(rows.ids[kind]):
            into = new if object_id is None else old
            into.ids[kind].append(object_id)
            for part in parts:
                getattr(into, part).append(getattr(rows, part)[index])
    return old, new


# ---- what the endpoints call ---------------------------------------------------------------


@dataclass(frozen=True)
class Saved:
    """A save's reply body and the version it gave the job(s)."""

    body: bytes
    version: int
    # Top-level objects the save wrote (created, updated or deleted): the activity count.
    objects: int = 0


def _write(
    session: Session,
    scope: Scope,
    data: Payload,
    action: str | None,
    before_write: Callable[[], Any] = _nothing,
) -> Written:
    if action is None:
        return replace(session, scope, data, before_write)
    return patch(session, scope, data, action, before_write)


def save_job(
    session: Session, job: Job, data: Payload, action: str | None, expected: int | None
) -> Saved:
    """Replace (action None) or patch one job's annotations under its next version.

    `expected` is the version the client last read (None: any); a newer one refuses the
    save with 412 before anything is written.
    """
    claimed: list[int] = []
    # A stale save is told so (412) before its payload is checked against newer objects:
    # an update of an object the newer save deleted would otherwise read as a bad request.
    _check_version(session, job.id, expected)
    try:
        written = _write(
            session,
            job_scope(session, job),
            data,
            action,
            lambda: claimed.append(claim(session, job.id, expected)),
        )
    except AnnotationError:
        _check_version(session, job.id, expected)  # a save that landed meanwhile
        raise
    new_version = claimed[0] if claimed else job.annotation_version
    SAVES.labels("job", action or "replace").inc()
    return Saved(written.reply(new_version), new_version, _count(written))


def save_task(session: Session, task: Task, data: Payload, action: str | None) -> Saved:
    """Replace or patch a whole task's annotations; every job of it gets a new version."""
    scope = task_scope(session, task)
    written = _write(session, scope, data, action)
    new_version = bump(session, scope.job_ids)
    SAVES.labels("task", action or "replace").inc()
    return Saved(written.reply(new_version), new_version, _count(written))


def _count(written: Written) -> int:
    return sum(len(ids) for ids in written.ids.values())


def clear_and_bump(session: Session, job_ids: list[int]) -> None:
    """DELETE of a job's or task's annotations: nothing stays, the versions move on."""
    if job_ids:
        clear_jobs(session, job_ids)
        bump(session, job_ids)


def announce_jobs(session: Session, job_ids: list[int]) -> None:
    """Tell listeners (the journal) the jobs now hold what the database has: a restore
    wrote them without a save, and a replay must not put older saves on top."""
    if job_ids:
        # Streamed into the commit's spool file: a restored project may hold 300,000 objects.
        events.stage_written(
            session,
            job_ids,
            "replace",
            lambda out: streamed.write_jobs(session.connection(), job_ids, 0, out),
        )


def restore_objects(session: Session, job_ids: list[int], payload: Any, mode: str) -> None:
    """A journal replay: write objects as a save replied with them, keeping every id."""
    store.restore_objects(session, job_ids, _as_payload(payload), mode)


__all__ = [
    "ACTIONS",
    "announce_jobs",
    "AnnotationError",
    "Payload",
    "Refusal",
    "Rows",
    "Saved",
    "Scope",
    "Written",
    "build_rows",
    "bump",
    "claim",
    "clear",
    "clear_and_bump",
    "clear_jobs",
    "count",
    "frame_window",
    "job_scope",
    "parse",
    "patch",
    "read",
    "read_parts",
    "render",
    "replace",
    "restore_objects",
    "save_job",
    "save_task",
    "shape_elements",
    "shapes_page",
    "sync_id_range",
    "tags_page",
    "task_scope",
    "track_rows",
    "version",
]
