"""Export sources over the database: a task's, job's or project's frames and annotations."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Any, BinaryIO

import orjson
from sqlalchemy import Connection, select

from labelvault.annotations import service as annotations
from labelvault.cloudstorages.registry import CloudStorages
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.db.base import iso
from labelvault.formats.base import FrameInfo, Shape, SourceMeta, Tag, Track
from labelvault.media.frames import frame_file
from labelvault.media.models import Frame
from labelvault.media.sources import CloudResolver
from labelvault.projects.models import Project
from labelvault.tasks import service as tasks
from labelvault.tasks.models import Task

from .base import ImportFailed, Progress
from .labels import Schema

FRAME_WINDOW = 500  # frames whose annotations are read in one query


def _load(body: str) -> dict[str, Any]:
    return orjson.loads(body)


class Names:
    """Label and attribute ids to names: stored bodies become format objects."""

    def __init__(self, schema: Schema) -> None:
        self.labels = schema.names
        self.attrs = schema.attr_names

    def attributes(self, attrs: list[dict[str, Any]]) -> list[dict[str, str]]:
        return [
            {"name": self.attrs[a["spec_id"]], "value": str(a["value"])}
            for a in attrs
            if a["spec_id"] in self.attrs
        ]

    def shape(self, body: dict[str, Any], frame: int) -> Shape:
        return {
            "type": body["type"],
            "label": self.labels[body["label_id"]],
            "frame": frame,
            "points": body.get("points") or [],
            "occluded": bool(body.get("occluded")),
            "outside": bool(body.get("outside")),
            "z_order": int(body.get("z_order") or 0),
            "rotation": float(body.get("rotation") or 0.0),
            "attributes": self.attributes(body.get("attributes") or []),
            "group": int(body.get("group") or 0),
            "source": body.get("source") or "manual",
            "score": float(body.get("score", 1.0)),
            "elements": [],
        }

    def tag(self, body: dict[str, Any], frame: int) -> Tag:
        return {
            "label": self.labels[body["label_id"]],
            "frame": frame,
            "attributes": self.attributes(body.get("attributes") or []),
            "group": int(body.get("group") or 0),
            "source": body.get("source") or "manual",
        }

    def tracked(self, body: dict[str, Any], offset: int) -> dict[str, Any]:
        return {
            "frame": body["frame"] + offset,
            "type": body["type"],
            "points": body.get("points") or [],
            "outside": bool(body.get("outside")),
            "occluded": bool(body.get("occluded")),
            "keyframe": True,
            "z_order": int(body.get("z_order") or 0),
            "rotation": float(body.get("rotation") or 0.0),
            "attributes": self.attributes(body.get("attributes") or []),
        }


@dataclass
class _Part:
    """One task's share of an export: its frames (optionally a job's) and jobs."""

    task: Task
    job_ids: list[int]
    frames: list[int] | None  # None: every frame of the task
    offset: int  # added to frame numbers so a project's frames stay unique


class DbExportSource:
    """ExportSource over tasks in the database, reading annotations window by window.

    Only one window of frames (FRAME_WINDOW) and its objects is in memory at a time;
    tracks are read whole since formats need them across frames (they are few).
    """

    def __init__(
        self, db: Database, settings: Settings, meta: SourceMeta, schema: Schema, parts: list[_Part]
    ) -> None:
        self.db = db
        self.settings = settings
        # Bucket-backed frames are fetched through the cloud storages registry.
        self.clouds = CloudStorages(db, settings)
        self.meta = meta
        self.labels = schema.label_defs()
        self._names = Names(schema)
        self.parts = parts
        self.on_frame: Callable[[int], None] | None = None

    @property
    def total_frames(self) -> int:
        return sum(len(p.frames) if p.frames is not None else p.task.size for p in self.parts)

    def frames(self) -> Iterator[tuple[FrameInfo, list[Tag], list[Shape]]]:
        done = 0
        with self.db.session() as session:
            conn = session.connection()
            for part in self.parts:
                deleted = set(part.task.deleted_frames or [])
                wanted = set(part.frames) if part.frames is not None else None
                subset = part.task.subset or ""
                for start in range(0, part.task.size, FRAME_WINDOW):
                    stop = min(start + FRAME_WINDOW, part.task.size) - 1
                    if wanted is not None and not any(f in wanted for f in range(start, stop + 1)):
                        continue
                    rows = list(
                        session.scalars(
                            select(Frame)
                            .where(
                                Frame.task_id == part.task.id,
                                Frame.frame >= start,
                                Frame.frame <= stop,
                            )
                            .order_by(Frame.frame)
                        )
                    )
                    tags, shapes = self._window(conn, part, start, stop)
                    for row in rows:
                        if row.frame in deleted or (wanted is not None and row.frame not in wanted):
                            continue
                        info = FrameInfo(
                            frame=row.frame + part.offset,
                            name=row.name,
                            width=row.width,
                            height=row.height,
                            subset=subset,
                            open_image=_frame_opener(self.settings, row, self.clouds),
                            task_id=part.task.id,
                        )
                        yield info, tags.get(row.frame, []), shapes.get(row.frame, [])
                        done += 1
                        if self.on_frame is not None:
                            self.on_frame(done)

    def _window(
        self, conn: Connection, part: _Part, start: int, stop: int
    ) -> tuple[dict[int, list[Tag]], dict[int, list[Shape]]]:
        names = self._names
        tag_rows, shape_rows = annotations.frame_window(conn, part.job_ids, start, stop)
        tags: dict[int, list[Tag]] = {}
        for frame, body in tag_rows:
            tags.setdefault(frame, []).append(names.tag(_load(body), frame + part.offset))
        shapes: dict[int, list[Shape]] = {}
        by_id: dict[int, Shape] = {}
        for shape_id, parent_id, frame, body in shape_rows:
            shape = names.shape(_load(body), frame + part.offset)
            if parent_id is None:
                by_id[shape_id] = shape
                shapes.setdefault(frame, []).append(shape)
            elif parent_id in by_id:
                by_id[parent_id]["elements"].append(shape)
        return tags, shapes

    def tracks(self) -> Iterator[Track]:
        with self.db.session() as session:
            conn = session.connection()
            for part in self.parts:
                for track in read_tracks(conn, part.job_ids, self._names, part.offset, part.frames):
                    # project exports say which task (and subset) a track belongs to
                    track.update(task_id=part.task.id, subset=part.task.subset or "")
                    yield track


def read_tracks(
    conn: Connection,
    job_ids: list[int],
    names: Names,
    offset: int = 0,
    frames: list[int] | None = None,
) -> Iterator[Track]:
    """Tracks of the jobs with label/attribute names, keyframes sorted by frame."""
    rows, bodies = annotations.track_rows(conn, job_ids)
    if not rows:
        return
    keyframes = {
        track_id: [names.tracked(_load(body), offset) for body in kf]
        for track_id, kf in bodies.items()
    }
    wanted = set(frames) if frames is not None else None
    subs: dict[int, list[Track]] = {}
    top: list[tuple[int, Track]] = []
    for track_id, parent_id, body in rows:
        data = _load(body)
        shapes = keyframes.get(track_id, [])
        if wanted is not None:
            shapes = [s for s in shapes if s["frame"] - offset in wanted]
        track: Track = {
            "label": names.labels[data["label_id"]],
            "frame": data["frame"] + offset,
            "group": int(data.get("group") or 0),
            "source": data.get("source") or "manual",
            "attributes": names.attributes(data.get("attributes") or []),
            "shapes": shapes,
            "elements": [],
        }
        if parent_id is None:
            top.append((track_id, track))
        else:
            subs.setdefault(parent_id, []).append(track)
    for track_id, track in top:
        track["elements"] = subs.get(track_id, [])
        if track["shapes"] or track["elements"]:
            if track["shapes"]:
                track["frame"] = track["shapes"][0]["frame"]
            yield track


def _frame_opener(settings: Any, frame: Frame, clouds: CloudResolver) -> Callable[[], BinaryIO]:
    """Opens the frame's original wherever it lives (task media, share, bucket, video)."""
    return lambda: frame_file(settings, frame, clouds).open("rb")


def _task_meta(task: Task, size: int | None = None) -> SourceMeta:
    return SourceMeta(
        name=task.name,
        id=task.id,
        mode=task.mode or "annotation",
        size=task.size if size is None else size,
        created=iso(task.created_date) or "",
        updated=iso(task.updated_date) or "",
        kind="task",
        subset=task.subset or "",
        overlap=int(task.overlap or 0),
    )


def task_source(
    db: Database, settings: Settings, task_id: int, job_id: int | None = None
) -> DbExportSource:
    with db.session() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise ImportFailed("the task was deleted")
        if task.data_state != "ready":
            raise ImportFailed("this task has no data yet, so there is nothing to export")
        schema = Schema.load(session, project_id=task.project_id, task_id=task.id)
        jobs = tasks.jobs_of(session, task.id)
        frames = None
        job_ids = [j.id for j in jobs]
        if job_id is not None:
            job = next(j for j in jobs if j.id == job_id)
            frames = list(tasks.job_frames(job))
            job_ids = [job_id]
        meta = _task_meta(task, len(frames) if frames is not None else None)
        session.expunge(task)
    return DbExportSource(db, settings, meta, schema, [_Part(task, job_ids, frames, 0)])


def project_source(db: Database, settings: Settings, project_id: int) -> DbExportSource:
    with db.session() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise ImportFailed("the project was deleted")
        schema = Schema.load(session, project_id=project.id, task_id=None)
        parts = []
        offset = 0
        for task in session.scalars(
            select(Task)
            .where(Task.project_id == project.id, Task.data_state == "ready")
            .order_by(Task.id)
        ):
            job_ids = [j.id for j in tasks.jobs_of(session, task.id)]
            session.expunge(task)
            parts.append(_Part(task, job_ids, None, offset))
            offset += task.size
        meta = SourceMeta(
            name=project.name,
            id=project.id,
            mode="annotation",
            size=offset,
            created=iso(project.created_date) or "",
            updated=iso(project.updated_date) or "",
            kind="project",
            tasks=[_task_meta(p.task) for p in parts],
        )
    return DbExportSource(db, settings, meta, schema, parts)


def export_to(
    source: DbExportSource, exporter: Any, out: IO[bytes], save_images: bool, progress: Progress
) -> None:
    total = max(source.total_frames, 1)
    step = max(total // 20, 1)

    def on_frame(done: int) -> None:
        if done % step == 0:
            progress(0.95 * done / total, f"Exported {done} of {total} frames")

    source.on_frame = on_frame
    exporter(source, out, save_images)
