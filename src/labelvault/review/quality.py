"""Quality control: settings per task, reports comparing annotation jobs to the ground truth."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.access.deps import require_task_manager
from labelvault.accounts.models import User
from labelvault.annotations.models import LabeledImage, LabeledShape, LabeledTrack, TrackedShape
from labelvault.db.base import utcnow
from labelvault.errors import Invalid
from labelvault.formats.interpolation import tracked_at
from labelvault.media.models import Frame
from labelvault.projects.models import Label
from labelvault.review.ground_truth import ground_truth_job
from labelvault.review.matching import COMPARED_TYPES, Shape, Tag, Tally
from labelvault.review.models import AnnotationConflict, QualityReport, QualitySettings
from labelvault.review.schemas import QualitySettingsPatch
from labelvault.tasks.models import Job, Task
from labelvault.tasks.service import job_frames

TARGET_METRICS = ("accuracy", "precision", "recall")


def settings_of(session: Session, task_id: int) -> QualitySettings:
    """A task's settings, made with CVAT's defaults the first time they are asked for."""
    row = session.scalars(select(QualitySettings).where(QualitySettings.task_id == task_id)).first()
    if row is None:
        row = QualitySettings(
            task_id=task_id,
            iou_threshold=0.4,
            low_overlap_threshold=0.8,
            target_metric="accuracy",
            target_metric_threshold=0.7,
        )
        session.add(row)
        session.flush()
    return row


def update_settings(
    session: Session, user: User, row: QualitySettings, body: QualitySettingsPatch
) -> QualitySettings:
    require_task_manager(session, user, session.get(Task, row.task_id))
    if body.target_metric is not None and body.target_metric not in TARGET_METRICS:
        raise Invalid({"target_metric": [f"use one of: {', '.join(TARGET_METRICS)}"]})
    for name in body.model_fields_set:
        value = getattr(body, name)
        if value is not None:
            setattr(row, name, value)
    row.updated_date = utcnow()
    session.flush()
    return row


def prepare_report(session: Session, user: User, task: Task) -> None:
    """Check a report can be made and make the settings it reads (the worker only reads)."""
    require_task_manager(session, user, task)
    if ground_truth_job(session, task.id) is None:
        raise Invalid(
            "This task has no ground-truth job: create one (POST /api/jobs with "
            "type=ground_truth) and annotate it first"
        )
    settings_of(session, task.id)


def _attributes(parsed: dict[str, Any]) -> tuple[tuple[int, str], ...]:
    return tuple(sorted((int(a["spec_id"]), str(a["value"])) for a in parsed.get("attributes", [])))


def _shapes(session: Session, job_ids: list[int], frames: set[int]) -> dict[int, list[Shape]]:
    """Each frame's shapes; a skeleton carries its elements' points (hidden ones marked)."""
    by_frame: dict[int, list[Shape]] = {}
    if not job_ids or not frames:
        return by_frame
    rows = session.execute(
        select(
            LabeledShape.id,
            LabeledShape.parent_id,
            LabeledShape.job_id,
            LabeledShape.frame,
            LabeledShape.label_id,
            LabeledShape.type,
            LabeledShape.body,
        )
        .where(LabeledShape.job_id.in_(job_ids), LabeledShape.frame.in_(sorted(frames)))
        .order_by(LabeledShape.id)
    ).all()
    elements: dict[int, list[tuple[int, float, float, bool]]] = {}
    for _, parent_id, _, _, label_id, _, body in rows:
        if parent_id is not None:
            parsed = orjson.loads(body)
            x, y = (parsed["points"] + [0.0, 0.0])[:2]
            shown = not parsed.get("outside", False)
            elements.setdefault(parent_id, []).append((label_id, x, y, shown))
    for id_, parent_id, job_id, frame, label_id, kind, body in rows:
        if parent_id is not None:
            continue
        parsed = orjson.loads(body)
        shape = Shape(
            id_,
            job_id,
            frame,
            label_id,
            kind,
            tuple(parsed.get("points") or ()),
            parsed.get("rotation", 0) or 0,
            parsed.get("z_order", 0) or 0,
            parsed.get("group", 0) or 0,
            _attributes(parsed),
            tuple(elements.get(id_, ())),
        )
        by_frame.setdefault(frame, []).append(shape)
    return by_frame


def _track_shapes(session: Session, job_ids: list[int], frames: set[int]) -> dict[int, list[Shape]]:
    """Each compared frame's shapes of the jobs' tracks, as the exporters list them (CVAT
    compares tracks frame by frame too); skeleton tracks are left out for now."""
    by_frame: dict[int, list[Shape]] = {}
    if not job_ids or not frames:
        return by_frame
    tracks = session.execute(
        select(LabeledTrack.id, LabeledTrack.job_id, LabeledTrack.label_id, LabeledTrack.body)
        .where(LabeledTrack.job_id.in_(job_ids), LabeledTrack.parent_id.is_(None))
        .order_by(LabeledTrack.id)
    ).all()
    if not tracks:
        return by_frame
    keys: dict[int, list[dict[str, Any]]] = {}
    rows = session.execute(
        select(TrackedShape.track_id, TrackedShape.frame, TrackedShape.body).where(
            TrackedShape.track_id.in_([t[0] for t in tracks])
        )
    )
    for track_id, frame, body in rows:
        keys.setdefault(track_id, []).append({**orjson.loads(body), "frame": frame})
    for track_id, job_id, label_id, body in tracks:
        parsed = orjson.loads(body)
        for frame in sorted(frames):
            shape = tracked_at(keys.get(track_id, []), frame)
            if shape is None or shape["outside"] or shape.get("type") == "skeleton":
                continue
            attributes = [*parsed.get("attributes", []), *shape.get("attributes", [])]
            by_frame.setdefault(frame, []).append(
                Shape(
                    track_id,
                    job_id,
                    frame,
                    label_id,
                    shape["type"],
                    tuple(shape["points"]),
                    shape.get("rotation", 0) or 0,
                    shape.get("z_order", 0) or 0,
                    parsed.get("group", 0) or 0,
                    _attributes({"attributes": attributes}),
                    track=True,
                )
            )
    return by_frame


def _objects(session: Session, job_ids: list[int], frames: set[int]) -> dict[int, list[Shape]]:
    """Each frame's shapes and track shapes."""
    by_frame = _shapes(session, job_ids, frames)
    for frame, shapes in _track_shapes(session, job_ids, frames).items():
        by_frame.setdefault(frame, []).extend(shapes)
    return by_frame


def _tags(session: Session, job_ids: list[int], frames: set[int]) -> dict[int, list[Tag]]:
    by_frame: dict[int, list[Tag]] = {}
    if not job_ids or not frames:
        return by_frame
    rows = session.execute(
        select(
            LabeledImage.id,
            LabeledImage.job_id,
            LabeledImage.frame,
            LabeledImage.label_id,
            LabeledImage.body,
        )
        .where(LabeledImage.job_id.in_(job_ids), LabeledImage.frame.in_(sorted(frames)))
        .order_by(LabeledImage.id)
    )
    for id_, job_id, frame, label_id, body in rows:
        tag = Tag(id_, job_id, frame, label_id, _attributes(orjson.loads(body)))
        by_frame.setdefault(frame, []).append(tag)
    return by_frame


def _sizes(session: Session, task_id: int) -> dict[int, tuple[int, int]]:
    rows = session.execute(
        select(Frame.frame, Frame.width, Frame.height).where(Frame.task_id == task_id)
    )
    return {frame: (width, height) for frame, width, height in rows}


def compute_reports(
    session: Session, task_id: int, progress: Callable[[float, str], None]
) -> QualityReport:
    """A task report with one child report per annotation job that has ground-truth frames."""
    return task_report(session, task_id, progress)[0]


def task_report(
    session: Session,
    task_id: int,
    progress: Callable[[float, str], None],
    parent_id: int | None = None,
) -> tuple[QualityReport, Tally]:
    """The task report (under a project report when `parent_id` is given) and its tally."""
    task = session.get(Task, task_id)
    gt_job = ground_truth_job(session, task_id)
    if task is None or gt_job is None:
        raise Invalid("the task or its ground-truth job is gone")
    settings = session.scalars(
        select(QualitySettings).where(QualitySettings.task_id == task_id)
    ).first() or QualitySettings(iou_threshold=0.4, low_overlap_threshold=0.8)
    gt_frames = set(job_frames(gt_job))
    gt_shapes = _objects(session, [gt_job.id], gt_frames)
    gt_tags = _tags(session, [gt_job.id], gt_frames)
    sizes = _sizes(session, task_id)
    names = label_names(session, task)
    jobs = list(
        session.scalars(
            select(Job).where(Job.task_id == task_id, Job.type == "annotation").order_by(Job.id)
        )
    )
    now = utcnow()

    def new_tally() -> Tally:
        return Tally(settings.iou_threshold, settings.low_overlap_threshold)

    parameters = {
        **new_tally().parameters(),
        "compared_shape_types": sorted(COMPARED_TYPES) + ["tag"],
        "matching": "one-to-one per frame and kind, largest summed similarity (Hungarian method)",
    }

    # Compare first, then write: progress is recorded in its own transaction, which must not
    # wait behind this one's writes (SQLite has one writer).
    results: list[tuple[Job, Tally]] = []
    for i, job in enumerate(jobs):
        progress(i / max(len(jobs), 1), f"Comparing job {job.id} with the ground truth")
        frames = gt_frames & set(job_frames(job))
        if not frames:
            continue
        tally = new_tally()
        ds_shapes = _objects(session, [job.id], frames)
        ds_tags = _tags(session, [job.id], frames)
        for frame in sorted(frames):
            tally.add(
                frame,
                gt_shapes.get(frame, []),
                ds_shapes.get(frame, []),
                gt_tags.get(frame, []),
                ds_tags.get(frame, []),
                sizes.get(frame, (0, 0)),
            )
        results.append((job, tally))
    task_tally = new_tally()
    task_row = QualityReport(
        task_id=task_id,
        parent_id=parent_id,
        target="task",
        summary={},
        data={},
        assignee_id=task.assignee_id,
        created_date=now,
        target_last_updated=task.updated_date,
        gt_last_updated=gt_job.updated_date,
    )
    session.add(task_row)
    session.flush()
    for job, tally in results:
        size = len(job_frames(job))
        job_row = QualityReport(
            task_id=task_id,
            job_id=job.id,
            parent_id=task_row.id,
            target="job",
            summary=tally.summary(size),
            data=_data(tally, names, parameters, size),
            assignee_id=job.assignee_id,
            created_date=now,
            target_last_updated=job.updated_date,
            gt_last_updated=gt_job.updated_date,
        )
        session.add(job_row)
        session.flush()
        session.add_all(
            AnnotationConflict(report_id=job_row.id, **conflict) for conflict in tally.conflicts
        )
        task_tally.merge(tally)
    checkable = len(results)
    summary = task_tally.summary(task.size)
    summary["jobs"] = {
        "total": len(jobs),
        "excluded": 0,
        "not_checkable": len(jobs) - checkable,
        "included": len(jobs),
    }
    task_row.summary = summary
    task_row.data = _data(task_tally, names, parameters, task.size)
    session.flush()
    return task_row, task_tally


def label_names(session: Session, task: Task) -> dict[int, str]:
    """Label id -> name for a task's own labels and its project's."""
    names = dict(
        session.execute(select(Label.id, Label.name).where(Label.task_id == task.id)).all()
    )
    if task.project_id:
        names.update(
            session.execute(
                select(Label.id, Label.name).where(Label.project_id == task.project_id)
            ).all()
        )
    return names


def report_data(
    tally: Tally, names: dict[int, str], parameters: dict[str, Any], total_frames: int
) -> dict[str, Any]:
    """The report's full content (GET /api/quality/reports/{id}/data)."""
    return _data(tally, names, parameters, total_frames)


def _data(
    tally: Tally, names: dict[int, str], parameters: dict[str, Any], total_frames: int
) -> dict[str, Any]:
    """The report's full content (GET /api/quality/reports/{id}/data)."""
    summary = tally.summary(total_frames)
    return {
        "parameters": parameters,
        "comparison_summary": {
            **summary,
            "annotations": {
                key: summary[key]
                for key in (
                    "valid_count",
                    "ds_count",
                    "gt_count",
                    "total_count",
                    "accuracy",
                    "precision",
                    "recall",
                )
            }
            | {"confusion_matrix": tally.confusion_matrix(names)},
        },
        "labels": tally.per_label(names),
        "frame_results": {str(frame): result for frame, result in sorted(tally.frames.items())},
    }
