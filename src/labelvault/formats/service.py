"""Bridge between the database and the format core: streaming export sources and imports."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

import orjson
from pydantic import ValidationError
from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from labelvault.annotations import service as annotations
from labelvault.annotations.models import LabeledImage, LabeledShape, LabeledTrack, TrackedShape
from labelvault.annotations.schemas import LabeledData
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.db.base import iso
from labelvault.media import service as media
from labelvault.media.models import Frame
from labelvault.projects import service as projects
from labelvault.projects.models import AttributeSpec, Label, Project
from labelvault.projects.schemas import AttributeWrite, LabelWrite
from labelvault.tasks import service as tasks
from labelvault.tasks.models import Job, Task

from . import masks
from .base import (
    AttributeDef,
    FormatError,
    FrameInfo,
    ImportedDataset,
    ImportedFrame,
    LabelDef,
    Shape,
    SourceMeta,
    Tag,
    Track,
)
from .safety import safe_extract_zip

Progress = Callable[[float, str], None]
FRAME_WINDOW = 500  # frames whose annotations are read in one query
BATCH_OBJECTS = 5000  # objects validated and inserted per statement batch


class ImportFailed(ValueError):
    """An import was refused; the message says what is wrong and nothing was written."""


def _noop(_fraction: float, _message: str = "") -> None:
    return None


# ---- label schema ---------------------------------------------------------------------------


@dataclass
class Schema:
    """A task's or project's labels, by id and by name, with attribute specs."""

    labels: list[Label]
    attrs: dict[int, list[AttributeSpec]]

    @classmethod
    def load(cls, session: Session, *, project_id: int | None, task_id: int | None) -> Schema:
        if project_id is not None:
            labels = projects.labels_of(session, project_id=project_id)
        else:
            labels = projects.labels_of(session, task_id=task_id)
        attrs: dict[int, list[AttributeSpec]] = {lb.id: [] for lb in labels}
        if labels:
            for a in session.scalars(
                select(AttributeSpec)
                .where(AttributeSpec.label_id.in_([lb.id for lb in labels]))
                .order_by(AttributeSpec.id)
            ):
                attrs[a.label_id].append(a)
        return cls(labels, attrs)

    @property
    def names(self) -> dict[int, str]:
        return {lb.id: lb.name for lb in self.labels}

    @property
    def attr_names(self) -> dict[int, str]:
        return {a.id: a.name for specs in self.attrs.values() for a in specs}

    def top(self) -> dict[str, Label]:
        return {lb.name: lb for lb in self.labels if lb.parent_id is None}

    def children(self, parent_id: int) -> list[Label]:
        return [lb for lb in self.labels if lb.parent_id == parent_id]

    def svg_with_names(self, label: Label) -> str:
        # Stored SVGs name points by our label ids; formats and backups need names.
        names = self.names
        return re.sub(
            r'data-label-id="(\d+)"',
            lambda m: f'data-label-name="{names.get(int(m.group(1)), m.group(1))}"',
            label.svg or "",
        )

    def label_defs(self) -> list[LabelDef]:
        def one(lb: Label) -> LabelDef:
            return LabelDef(
                name=lb.name,
                type=lb.type,
                color=lb.color,
                attributes=[
                    AttributeDef(
                        a.name, a.input_type, a.mutable, json.loads(a.values), a.default_value
                    )
                    for a in self.attrs.get(lb.id, [])
                ],
                sublabels=[one(c) for c in self.children(lb.id)],
                svg=self.svg_with_names(lb) if lb.type == "skeleton" else "",
            )

        return [one(lb) for lb in self.labels if lb.parent_id is None]

    def labels_backup_json(self) -> list[dict[str, Any]]:
        """Labels as CVAT's backup task.json/project.json writes them (names, no ids)."""

        def attrs(lb: Label) -> list[dict[str, Any]]:
            return [
                {
                    "name": a.name,
                    "mutable": a.mutable,
                    "input_type": a.input_type,
                    "default_value": a.default_value,
                    "values": json.loads(a.values),
                }
                for a in self.attrs.get(lb.id, [])
            ]

        out = []
        for lb in self.labels:
            if lb.parent_id is not None:
                continue
            out.append(
                {
                    "name": lb.name,
                    "color": lb.color,
                    "attributes": attrs(lb),
                    "type": lb.type,
                    "svg": self.svg_with_names(lb) if lb.type == "skeleton" else "",
                    "sublabels": [
                        {
                            "name": c.name,
                            "color": c.color,
                            "attributes": attrs(c),
                            "type": c.type,
                            "has_parent": True,
                        }
                        for c in self.children(lb.id)
                    ],
                }
            )
        return out


def label_writes(labels: Iterable[dict[str, Any] | LabelDef]) -> list[LabelWrite]:
    """LabelWrite specs from backup JSON or format LabelDefs (both keyed by names)."""

    def attr(a: dict[str, Any] | AttributeDef) -> AttributeWrite:
        if isinstance(a, AttributeDef):
            a = {
                "name": a.name,
                "mutable": a.mutable,
                "input_type": a.input_type,
                "values": a.values,
                "default_value": a.default_value,
            }
        values = a.get("values") or []
        if isinstance(values, str):  # CVAT XML and old backups join values with newlines
            values = values.split("\n")
        return AttributeWrite(
            name=str(a.get("name", "")),
            mutable=bool(a.get("mutable", False)),
            input_type=str(a.get("input_type") or "text"),
            default_value=None if a.get("default_value") is None else str(a["default_value"]),
            values=[str(v) for v in values],
        )

    def one(lb: dict[str, Any] | LabelDef, is_sub: bool) -> LabelWrite:
        if isinstance(lb, LabelDef):
            lb = {
                "name": lb.name,
                "color": lb.color,
                "type": lb.type,
                "attributes": lb.attributes,
                "sublabels": lb.sublabels,
                "svg": lb.svg,
            }
        kind = lb.get("type") or ("points" if is_sub else "any")
        subs = [one(s, True) for s in lb.get("sublabels") or ()]
        if subs and kind != "skeleton":
            kind = "skeleton"
        return LabelWrite(
            name=lb.get("name"),
            color=lb.get("color") or None,
            type=kind,
            attributes=[attr(a) for a in lb.get("attributes") or ()],
            sublabels=subs,
            svg=lb.get("svg") or None,
        )

    return [one(lb, False) for lb in labels]


# ---- export ---------------------------------------------------------------------------------


def _load(body: str) -> dict[str, Any]:
    return orjson.loads(body)


class Names:
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
                            open_image=_frame_opener(self.settings, row),
                        )
                        yield info, tags.get(row.frame, []), shapes.get(row.frame, [])
                        done += 1
                        if self.on_frame is not None:
                            self.on_frame(done)

    def _window(
        self, conn: Connection, part: _Part, start: int, stop: int
    ) -> tuple[dict[int, list[Tag]], dict[int, list[Shape]]]:
        names = self._names
        tags: dict[int, list[Tag]] = {}
        for frame, body in conn.execute(
            select(LabeledImage.frame, LabeledImage.body)
            .where(
                LabeledImage.job_id.in_(part.job_ids),
                LabeledImage.frame >= start,
                LabeledImage.frame <= stop,
            )
            .order_by(LabeledImage.id)
        ):
            tags.setdefault(frame, []).append(names.tag(_load(body), frame + part.offset))
        shapes: dict[int, list[Shape]] = {}
        by_id: dict[int, Shape] = {}
        for shape_id, parent_id, frame, body in conn.execute(
            select(LabeledShape.id, LabeledShape.parent_id, LabeledShape.frame, LabeledShape.body)
            .where(
                LabeledShape.job_id.in_(part.job_ids),
                LabeledShape.frame >= start,
                LabeledShape.frame <= stop,
            )
            .order_by(LabeledShape.id)
        ):
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
                yield from read_tracks(conn, part.job_ids, self._names, part.offset, part.frames)


def read_tracks(
    conn: Connection,
    job_ids: list[int],
    names: Names,
    offset: int = 0,
    frames: list[int] | None = None,
) -> Iterator[Track]:
    """Tracks of the jobs with label/attribute names, keyframes sorted by frame."""
    rows = list(
        conn.execute(
            select(LabeledTrack.id, LabeledTrack.parent_id, LabeledTrack.body)
            .where(LabeledTrack.job_id.in_(job_ids))
            .order_by(LabeledTrack.id)
        )
    )
    if not rows:
        return
    keyframes: dict[int, list[dict[str, Any]]] = {}
    ids = [r[0] for r in rows]
    for start in range(0, len(ids), 5000):
        for track_id, body in conn.execute(
            select(TrackedShape.track_id, TrackedShape.body)
            .where(TrackedShape.track_id.in_(ids[start : start + 5000]))
            .order_by(TrackedShape.frame, TrackedShape.id)
        ):
            keyframes.setdefault(track_id, []).append(names.tracked(_load(body), offset))
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


def _frame_opener(settings: Any, frame: Frame) -> Callable[[], BinaryIO]:
    """Opens the frame's original wherever it lives (task media, share, bucket, video)."""
    return lambda: media.frame_file(settings, frame).open("rb")


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
        meta = SourceMeta(
            name=task.name,
            id=task.id,
            mode=task.mode or "annotation",
            size=len(frames) if frames is not None else task.size,
            created=iso(task.created_date) or "",
            updated=iso(task.updated_date) or "",
            kind="task",
        )
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


# ---- import ---------------------------------------------------------------------------------


def name_keys(name: str) -> list[str]:
    """Ways a dataset may write a frame's name, most specific first: path, path without
    extension, file name, file name without extension."""
    clean = re.sub(r"^(\./)+|^/+", "", name.replace("\\", "/"))
    p = PurePosixPath(clean)
    full = str(p)
    return [full, str(p.with_suffix("")) if p.suffix else full, p.name, p.stem]


class FrameMatcher:
    """Maps dataset item names to our frame numbers (with or without extension and folders)."""

    def __init__(self, frames: Iterable[tuple[int, str]]) -> None:
        self.by_key: dict[str, int | None] = {}
        all_keys = [(frame, name_keys(name)) for frame, name in frames]
        for level in range(4):
            seen: dict[str, int | None] = {}
            for frame, keys in all_keys:
                key = keys[level]
                seen[key] = None if key in seen and seen[key] != frame else frame
            for key, frame in seen.items():
                # a more specific key of another frame wins; an ambiguous one matches nothing
                if key not in self.by_key:
                    self.by_key[key] = frame

    def match(self, name: str) -> int | None:
        for key in dict.fromkeys(name_keys(name)):
            frame = self.by_key.get(key)
            if frame is not None:
                return frame
        return None


@dataclass
class ImportOptions:
    mode: str = "replace"  # "replace" the scope's annotations, or "append" to them
    create_labels: bool = False  # add labels the dataset uses and the task lacks
    conv_mask_to_poly: bool = False


@dataclass
class ImportSummary:
    tags: int = 0
    shapes: int = 0
    tracks: int = 0
    frames: int = 0
    skipped_attributes: set[str] = field(default_factory=set)

    def message(self) -> str:
        text = (
            f"Imported {self.shapes} shapes, {self.tags} tags and {self.tracks} tracks "
            f"on {self.frames} frames"
        )
        if self.skipped_attributes:
            skipped = ", ".join(sorted(self.skipped_attributes)[:10])
            text += f"; ignored attributes the labels lack: {skipped}"
        return text


class LabelMap:
    """Dataset label/attribute names → our ids, creating labels on demand when allowed."""

    def __init__(
        self,
        session: Session,
        task: Task,
        dataset: ImportedDataset,
        create: bool,
        summary: ImportSummary,
    ) -> None:
        self.session = session
        self.task = task
        self.dataset = dataset
        self.create = create
        self.summary = summary
        self.unknown: set[str] = set()
        self.scopes: list[annotations.Scope] = []
        self.reload()

    def reload(self) -> None:
        schema = Schema.load(self.session, project_id=self.task.project_id, task_id=self.task.id)
        self.top = schema.top()
        self.kids = {lb.id: schema.children(lb.id) for lb in self.top.values()}
        self.specs = {lid: {a.name: a for a in specs} for lid, specs in schema.attrs.items()}
        self.infos = projects.label_infos(
            self.session,
            project_id=self.task.project_id,
            task_id=None if self.task.project_id else self.task.id,
        )

    def label(self, name: str) -> Label | None:
        lb = self.top.get(name)
        if lb is None and name not in self.unknown and self.create:
            spec = self.dataset.labels.get(name) or LabelDef(name=name)
            try:
                projects.create_labels(
                    self.session,
                    label_writes([spec]),
                    project_id=self.task.project_id,
                    task_id=None if self.task.project_id else self.task.id,
                )
            except projects.LabelError as exc:
                raise ImportFailed(f"cannot create label '{name}': {exc}") from exc
            self.session.flush()
            self.reload()
            for scope in self.scopes:  # validation must know the new label too
                scope.labels = self.infos
            lb = self.top.get(name)
        if lb is None:
            self.unknown.add(name)
        return lb

    def element(self, parent: Label, name: str, index: int) -> Label | None:
        kids = self.kids.get(parent.id, [])
        for kid in kids:
            if kid.name == name:
                return kid
        # formats that lose point names (COCO keypoints without categories) keep the order
        if 0 <= index < len(kids):
            return kids[index]
        self.unknown.add(f"{parent.name}.{name}")
        return None

    def attributes(
        self, label: Label, attrs: Iterable[dict[str, Any]], mutable: bool | None = None
    ) -> list[dict[str, Any]]:
        specs = self.specs.get(label.id, {})
        out = []
        for a in attrs:
            spec = specs.get(a["name"])
            if spec is None:
                if a["name"] not in ("track_id", "keyframe", "occluded", "rotation", "outside"):
                    self.summary.skipped_attributes.add(f"{label.name}.{a['name']}")
                continue
            if mutable is not None and spec.mutable != mutable:
                continue
            value = a["value"]
            if spec.input_type == "checkbox":
                value = str(value).lower()
            out.append({"spec_id": spec.id, "value": str(value)})
        return out


def shape_wire(
    labels: LabelMap, shape: Shape, frame: int, size: tuple[int, int] | None, to_poly: bool
) -> list[dict[str, Any]]:
    label = labels.label(shape["label"])
    if label is None:
        return []
    base = {
        "frame": frame,
        "label_id": label.id,
        "occluded": bool(shape.get("occluded")),
        "outside": bool(shape.get("outside")),
        "z_order": int(shape.get("z_order") or 0),
        "rotation": float(shape.get("rotation") or 0.0) % 360,
        "group": int(shape.get("group") or 0),
        "source": shape.get("source") or "file",
        "attributes": labels.attributes(label, shape.get("attributes") or ()),
    }
    if "score" in shape:
        base["score"] = min(max(float(shape["score"]), 0.0), 1.0)
    if shape["type"] == "mask" and to_poly and size is not None:
        bitmap = masks.decode_cvat_mask(shape["points"], *size)
        return [
            {**base, "type": "polygon", "points": poly} for poly in masks.bitmap_to_polygons(bitmap)
        ]
    elements = []
    for index, el in enumerate(shape.get("elements") or ()):
        sub = labels.element(label, el["label"], index)
        if sub is None:
            continue
        elements.append(
            {
                "type": "points",
                "frame": frame,
                "label_id": sub.id,
                "points": el.get("points") or [],
                "occluded": bool(el.get("occluded")),
                "outside": bool(el.get("outside")),
                "source": el.get("source") or base["source"],
                "attributes": labels.attributes(sub, el.get("attributes") or ()),
            }
        )
    return [
        {**base, "type": shape["type"], "points": shape.get("points") or [], "elements": elements}
    ]


def track_wire(
    labels: LabelMap, track: Track, frame_of: Callable[[int], int | None], parent: Label | None
) -> dict[str, Any] | None:
    if parent is None:
        label = labels.label(track["label"])
    else:
        label = labels.element(parent, track["label"], track.get("_index", -1))
    if label is None:
        return None
    immutable = labels.attributes(label, track.get("attributes") or (), mutable=False)
    shapes = []
    for ks in track.get("shapes") or ():
        frame = frame_of(ks["frame"])
        if frame is None:
            continue
        attrs = list(ks.get("attributes") or ())
        if not immutable:
            immutable = labels.attributes(label, attrs, mutable=False)
        shapes.append(
            {
                "type": ks["type"],
                "frame": frame,
                "points": ks.get("points") or [],
                "occluded": bool(ks.get("occluded")),
                "outside": bool(ks.get("outside")),
                "z_order": int(ks.get("z_order") or 0),
                "rotation": float(ks.get("rotation") or 0.0) % 360,
                "attributes": labels.attributes(
                    label, list(track.get("attributes") or ()) + attrs, mutable=True
                ),
            }
        )
    elements = []
    for index, sub in enumerate(track.get("elements") or ()):
        el = track_wire(labels, {**sub, "_index": index}, frame_of, label)
        if el is not None and el["shapes"]:
            elements.append(el)
    if not shapes and not elements:
        return None
    first = min([s["frame"] for s in shapes] + [e["frame"] for e in elements])
    return {
        "frame": first,
        "label_id": label.id,
        "group": int(track.get("group") or 0),
        "source": track.get("source") or "file",
        "attributes": immutable,
        "shapes": shapes,
        "elements": elements,
    }


class Writer:
    """Validates and inserts objects in batches inside the caller's transaction."""

    def __init__(self, session: Session, scope: annotations.Scope) -> None:
        self.session = session
        self.scope = scope
        self.data: dict[str, list[dict[str, Any]]] = {"tags": [], "shapes": [], "tracks": []}
        self.where: dict[str, list[str]] = {"tags": [], "shapes": [], "tracks": []}

    def add(self, kind: str, obj: dict[str, Any], where: str) -> None:
        self.data[kind].append(obj)
        self.where[kind].append(where)
        if sum(len(v) for v in self.data.values()) >= BATCH_OBJECTS:
            self.flush()

    def flush(self) -> None:
        if not any(self.data.values()):
            return
        try:
            payload = LabeledData.model_validate(self.data)
            annotations.patch(self.session, self.scope, payload, "create")
        except ValidationError as exc:
            err = exc.errors()[0]
            loc = list(err["loc"])
            raise ImportFailed(self._place(loc, str(err["msg"]))) from exc
        except annotations.AnnotationError as exc:
            msgs = []
            for text in exc.errors[:5]:
                m = re.match(r"(tags|shapes|tracks)\[(\d+)\](.*)", text)
                if m:
                    msgs.append(self._place([m.group(1), int(m.group(2))], m.group(3).lstrip(".")))
                else:
                    msgs.append(text)
            raise ImportFailed("; ".join(msgs)) from exc
        self.data = {"tags": [], "shapes": [], "tracks": []}
        self.where = {"tags": [], "shapes": [], "tracks": []}

    def _place(self, loc: list[Any], msg: str) -> str:
        if len(loc) >= 2 and loc[0] in self.where and isinstance(loc[1], int):
            where = self.where[loc[0]][loc[1]]
            rest = ".".join(str(p) for p in loc[2:])
            return f"{where}: {loc[0][:-1]} {rest} {msg}".replace("  ", " ")
        return msg


def write_scope(session: Session, task: Task, job: Job | None) -> annotations.Scope:
    infos = projects.label_infos(
        session,
        project_id=task.project_id,
        task_id=None if task.project_id else task.id,
    )
    if job is not None:
        frames = tasks.job_frames(job)
        return annotations.Scope(
            job_ids=[job.id],
            labels=infos,
            frame_min=job.start_frame,
            frame_max=job.stop_frame,
            frame_set=frozenset(frames) if job.frames is not None else None,
        )
    owner: dict[int, int] = {}
    jobs = tasks.jobs_of(session, task.id)
    for j in jobs:
        for f in tasks.job_frames(j):
            owner.setdefault(f, j.id)  # overlapping frames belong to the first job, as PUT does
    return annotations.Scope(
        job_ids=[j.id for j in jobs],
        labels=infos,
        frame_min=0,
        frame_max=max(task.size - 1, 0),
        frame_set=frozenset(owner),
        job_of_frame=owner.__getitem__,
    )


def frame_size_lookup(db: Database, task_id: int) -> Callable[[str], tuple[int, int] | None]:
    """The YOLO importers' callback: an item name → our frame's (width, height)."""
    with db.session() as session:
        rows = [(f.frame, f.name, f.width, f.height) for f in media.frames_of(session, task_id)]
    matcher = FrameMatcher([(f, n) for f, n, _w, _h in rows])
    sizes = {f: (w, h) for f, _n, w, h in rows}

    def lookup(name: str) -> tuple[int, int] | None:
        frame = matcher.match(name)
        return sizes.get(frame) if frame is not None else None

    return lookup


def import_into_task(
    db: Database,
    task_id: int,
    dataset: ImportedDataset,
    *,
    job_id: int | None = None,
    options: ImportOptions | None = None,
    progress: Progress = _noop,
    items: Callable[[ImportedFrame], bool] | None = None,
    rename: dict[str, str] | None = None,
) -> ImportSummary:
    """Write a dataset's annotations into a task (or one job) in one transaction.

    Objects are validated and inserted in batches while the dataset streams, so memory
    holds one batch; any error rolls the whole import back. ``items`` filters dataset items
    (a project import routes subsets to tasks); ``rename`` maps item names to frame names.
    """
    options = options or ImportOptions()
    summary = ImportSummary()
    if db.is_sqlite:
        # SQLite has one writer: progress from another connection would wait for this one.
        progress = _noop
    with db.session() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise ImportFailed("the task was deleted")
        if task.data_state != "ready":
            raise ImportFailed("this task has no data yet; add images before annotations")
        job = session.get(Job, job_id) if job_id is not None else None
        frames = media.frames_of(session, task.id)
        matcher = FrameMatcher([(f.frame, f.name) for f in frames])
        sizes = {f.frame: (f.width, f.height) for f in frames}
        scope = write_scope(session, task, job)
        labels = LabelMap(session, task, dataset, options.create_labels, summary)
        labels.scopes.append(scope)
        if options.mode == "replace":
            annotations.clear(session.connection(), scope.job_ids)
        writer = Writer(session, scope)
        dataset_frames: dict[int, int] = {}
        unmatched: list[str] = []
        seen_frames: set[int] = set()
        for count, item in enumerate(dataset.frames()):
            if items is not None and not items(item):
                continue
            name = rename.get(item.name, item.name) if rename else item.name
            frame = matcher.match(name) if name else None
            known = item.frame is not None and 0 <= item.frame < task.size
            if frame is None and known and (not name or rename is None):
                frame = item.frame  # CVAT XML records frame numbers; trust them last
            if frame is None:
                if item.tags or item.shapes:
                    unmatched.append(item.name or f"frame {item.frame}")
                continue
            if item.frame is not None:
                dataset_frames[item.frame] = frame
            if not scope.has_frame(frame):
                continue  # a job import takes only the job's frames
            seen_frames.add(frame)
            where = item.name or f"frame {frame}"
            for tag in item.tags:
                label = labels.label(tag["label"])
                if label is None:
                    continue
                writer.add(
                    "tags",
                    {
                        "frame": frame,
                        "label_id": label.id,
                        "group": int(tag.get("group") or 0),
                        "source": tag.get("source") or "file",
                        "attributes": labels.attributes(label, tag.get("attributes") or ()),
                    },
                    where,
                )
                summary.tags += 1
            for shape in item.shapes:
                for wire in shape_wire(
                    labels, shape, frame, sizes.get(frame), options.conv_mask_to_poly
                ):
                    writer.add("shapes", wire, where)
                    summary.shapes += 1
            if count % 1000 == 0:
                progress(0.1 + 0.6 * min(count / max(task.size, 1), 1.0), "Reading annotations")

        def frame_of(dataset_frame: int) -> int | None:
            frame = dataset_frames.get(dataset_frame)
            if frame is None and 0 <= dataset_frame < task.size:
                frame = dataset_frame  # video exports have no per-image entries
            return frame if frame is not None and scope.has_frame(frame) else None

        for track in dataset.tracks():
            wire = track_wire(labels, track, frame_of, None)
            if wire is not None:
                writer.add("tracks", wire, f"track of '{track.get('label')}'")
                summary.tracks += 1
        if labels.unknown:
            names = sorted(labels.unknown)
            raise ImportFailed(
                f"the dataset uses labels this {'project' if task.project_id else 'task'} "
                f"lacks: {', '.join(names[:20])}; add them, or import with create_labels=true"
            )
        if unmatched:
            raise ImportFailed(
                f"{len(unmatched)} dataset items match no frame of the task: "
                f"{', '.join(unmatched[:10])}{' …' if len(unmatched) > 10 else ''}"
            )
        writer.flush()
        session.execute(
            update(Job)
            .where(Job.id.in_(scope.job_ids))
            .values(annotation_version=Job.annotation_version + 1)
        )
        tasks.touch(session, task)
        summary.frames = len(seen_frames)
    return summary


def open_imported(fmt: str, root: Path, **kwargs: Any) -> ImportedDataset:
    from .registry import get_importer

    try:
        importer = get_importer(fmt)
    except KeyError as exc:
        raise ImportFailed(
            f"unknown import format '{fmt}'; see /api/server/annotation/formats"
        ) from exc
    return importer(root, **kwargs)


class ImageIndex:
    """Image files of an extracted archive, found by any trailing part of their path."""

    def __init__(self, root: Path) -> None:
        self.by_key: dict[str, Path] = {}
        for path in sorted(root.rglob("*")):
            if not path.is_file() or not media.is_image(path.name):
                continue
            parts = path.relative_to(root).parts
            for i in range(len(parts)):
                tail = PurePosixPath(*parts[i:])
                self.by_key.setdefault(str(tail), path)
                self.by_key.setdefault(str(tail.with_suffix("")), path)

    def find(self, name: str) -> Path | None:
        for key in dict.fromkeys(name_keys(name)):
            if key in self.by_key:
                return self.by_key[key]
        return None


def import_project_dataset(
    db: Database,
    settings: Settings,
    project_id: int,
    fmt: str,
    archive: Path,
    owner_id: int | None,
    options: ImportOptions,
    progress: Progress = _noop,
) -> list[int]:
    """Create one task per subset of a dataset archive, with its images and annotations.

    All or nothing: if any task fails, the tasks made so far are deleted again.
    """
    if not zipfile.is_zipfile(archive):
        raise ImportFailed(
            f"{archive.name}: a project dataset import needs a zip archive with images"
        )
    work = Path(tempfile.mkdtemp(dir=settings.uploads_dir, prefix="project-import-"))
    created: list[int] = []
    try:
        root = safe_extract_zip(archive, work / "x")
        dataset = open_imported(fmt, root)
        index = ImageIndex(root)
        subsets: dict[str, dict[str, Path]] = {}
        missing: list[str] = []
        progress(0.05, "Reading the dataset")
        for item in dataset.frames():
            if not item.name:
                continue
            path = index.find(item.name)
            if path is None:
                missing.append(item.name)
                continue
            subsets.setdefault(item.subset or "", {})[item.name] = path
        if missing:
            raise ImportFailed(
                f"{len(missing)} dataset items have no image in the archive: "
                f"{', '.join(missing[:10])}; export the dataset with images"
            )
        if not subsets:
            raise ImportFailed(f"{archive.name}: the archive holds no annotated images")
        for number, (subset, files) in enumerate(sorted(subsets.items())):
            with db.session() as session:
                project = session.get(Project, project_id)
                if project is None:
                    raise ImportFailed("the project was deleted")
                task = tasks.create_task(
                    session,
                    name=subset or "default",
                    owner_id=owner_id or project.owner_id or 0,
                    project=project,
                    labels=[],
                    subset=subset,
                )
                task_id = task.id
            created.append(task_id)
            stage = work / f"task-{task_id}"
            stage.mkdir()
            rename: dict[str, str] = {}
            order: list[str] = []
            for name, src in files.items():
                # create_data keeps file names flat; make repeated names unique
                base, n = src.name, 1
                while (stage / base).exists():
                    base = f"{src.stem}_{n}{src.suffix}"
                    n += 1
                shutil.copyfile(src, stage / base)
                rename[name] = base
                order.append(base)
            share = 1 / len(subsets)
            params = media.DataParams(sorting_method="predefined", upload_file_order=order)
            media.create_data(
                db.session,
                settings,
                task_id,
                [stage / n for n in order],
                params,
                lambda f, m, b=number, w=share: progress(0.1 + 0.8 * w * (b + f), m),
            )
            import_into_task(
                db,
                task_id,
                dataset,
                options=options,
                items=lambda item, s=subset: (item.subset or "") == s,
                rename=rename,
            )
        return created
    except media.DataError as exc:
        delete_tasks(db, settings, created)
        raise ImportFailed(str(exc)) from exc
    except BaseException:
        delete_tasks(db, settings, created)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def delete_tasks(db: Database, settings: Settings, task_ids: list[int]) -> None:
    for task_id in task_ids:
        with db.session() as session:
            task = session.get(Task, task_id)
            if task is not None:
                tasks.delete_task(settings, session, task)


__all__ = [
    "DbExportSource",
    "FormatError",
    "FrameMatcher",
    "ImportFailed",
    "ImportOptions",
    "ImportSummary",
    "Schema",
    "export_to",
    "frame_size_lookup",
    "import_into_task",
    "label_writes",
    "project_source",
    "task_source",
]
