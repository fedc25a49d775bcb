"""Writing dataset objects into a task: label/attribute names to ids, validated batches."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError
from sqlalchemy.orm import Session

from labelvault.annotations import events
from labelvault.annotations import service as annotations
from labelvault.annotations.schemas import LabeledData
from labelvault.formats import masks
from labelvault.formats.base import ImportedDataset, LabelDef, Shape, Track
from labelvault.projects import service as projects
from labelvault.projects.models import Label
from labelvault.tasks.models import Task

from .base import ImportFailed
from .labels import Schema, label_writes

BATCH_OBJECTS = 5000  # objects validated and inserted per statement batch


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
            # The batch's rows go with it; the journal keeps only their JSON till the commit.
            events.render_staged(self.session)
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
