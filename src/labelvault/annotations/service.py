"""Rules of annotations: validation as CVAT does it, and bulk read/replace/patch/delete.

Writes go through SQLAlchemy Core in one transaction: a payload with one bad object writes
nothing. Reads stream pre-serialised bodies straight into the reply (see models.py).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from pydantic import TypeAdapter, ValidationError
from sqlalchemy import Connection, delete, func, insert, select, text, update
from sqlalchemy.orm import Session

from labelvault.annotations.models import LabeledImage, LabeledShape, LabeledTrack, TrackedShape
from labelvault.annotations.schemas import (
    AttributeVal,
    LabeledData,
    Shape,
    SubShape,
    SubTrack,
    Tag,
    Track,
)
from labelvault.annotations.schemas import (
    TrackedShape as TrackedShapeIn,
)
from labelvault.projects.service import AttributeInfo, LabelInfo
from labelvault.tasks.models import Job

_data_adapter = TypeAdapter(LabeledData)
ACTIONS = ("create", "update", "delete")


class AnnotationError(ValueError):
    """A payload was rejected; `errors` name each offending object and field."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__(errors[0] if errors else "invalid annotations")
        self.errors = errors


def parse(raw: bytes) -> LabeledData:
    """Parse and type-check a LabeledData payload, naming the first bad fields."""
    if not raw.strip():
        return LabeledData()
    try:
        return _data_adapter.validate_json(raw)
    except ValidationError as exc:
        errors = []
        for err in exc.errors()[:20]:
            path = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"])
            errors.append(f"{path.lstrip('.')}: {err['msg']}")
        raise AnnotationError(errors) from exc


@dataclass
class Scope:
    """Where annotations may go: a job's frames and its task's labels."""

    job_ids: list[int]
    labels: dict[int, LabelInfo]
    frame_min: int
    frame_max: int
    frame_set: frozenset[int] | None = None
    # For a task-wide write: which job each frame's objects are stored in.
    job_of_frame: Any = None

    def has_frame(self, frame: int) -> bool:
        if self.frame_set is not None:
            return frame in self.frame_set
        return self.frame_min <= frame <= self.frame_max

    def job_for(self, frame: int) -> int:
        if self.job_of_frame is None or not self.has_frame(frame):
            # A frame outside the scope is reported by validation; nothing is written then.
            return self.job_ids[0]
        return self.job_of_frame(frame)


POINT_RULES = {
    "rectangle": (4, 4),
    "ellipse": (4, 4),
    "cuboid": (16, 16),
    "polygon": (6, None),
    "polyline": (4, None),
    "points": (2, None),
    "mask": (5, None),
    "skeleton": (0, None),
}


@dataclass
class _Rows:
    tags: list[dict[str, Any]] = field(default_factory=list)
    shapes: list[dict[str, Any]] = field(default_factory=list)
    elements: list[list[dict[str, Any]]] = field(default_factory=list)
    tracks: list[dict[str, Any]] = field(default_factory=list)
    track_shapes: list[list[dict[str, Any]]] = field(default_factory=list)
    sub_tracks: list[list[tuple[dict[str, Any], list[dict[str, Any]]]]] = field(
        default_factory=list
    )
    ids: dict[str, list[int | None]] = field(
        default_factory=lambda: {"tags": [], "shapes": [], "tracks": []}
    )


class _Validator:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.errors: list[str] = []

    def fail(self, path: str, message: str) -> None:
        if len(self.errors) < 20:
            self.errors.append(f"{path}: {message}")

    def label(self, path: str, label_id: int, parent: LabelInfo | None = None) -> LabelInfo | None:
        info = self.scope.labels.get(label_id)
        if info is None:
            self.fail(f"{path}.label_id", f"label {label_id} is not a label of this task")
            return None
        if parent is None and info.parent_id is not None:
            self.fail(f"{path}.label_id", f"label {label_id} is a skeleton point, not a label")
            return None
        if parent is not None and label_id not in parent.sublabel_ids:
            self.fail(
                f"{path}.label_id", f"label {label_id} is not a point of skeleton '{parent.name}'"
            )
            return None
        return info

    def frame(self, path: str, frame: int) -> None:
        if not self.scope.has_frame(frame):
            self.fail(
                f"{path}.frame",
                f"frame {frame} is outside this job's frames "
                f"{self.scope.frame_min}-{self.scope.frame_max}",
            )

    def attributes(
        self,
        path: str,
        label: LabelInfo,
        attrs: Sequence[AttributeVal],
        mutable_only: bool | None = None,
    ) -> list[dict[str, Any]]:
        out = []
        seen = set()
        for index, attr in enumerate(attrs):
            where = f"{path}.attributes[{index}]"
            spec: AttributeInfo | None = label.attributes.get(attr.spec_id)
            if spec is None:
                self.fail(
                    f"{where}.spec_id",
                    f"attribute {attr.spec_id} does not belong to label '{label.name}'",
                )
                continue
            if attr.spec_id in seen:
                self.fail(f"{where}.spec_id", f"attribute '{spec.name}' is given twice")
                continue
            seen.add(attr.spec_id)
            value = attr.value
            if isinstance(value, bool):
                value = "true" if value else "false"
            value = str(value)
            error = check_value(spec, value)
            if error:
                self.fail(f"{where}.value", error)
                continue
            if spec.input_type == "checkbox":
                value = value.lower()
            out.append({"spec_id": attr.spec_id, "value": value})
        return out

    def points(self, path: str, kind: str, points: list[float]) -> None:
        low, high = POINT_RULES[kind]
        count = len(points)
        if count < low or (high is not None and count > high):
            need = f"{low}" if low == high else f"at least {low}"
            self.fail(f"{path}.points", f"a {kind} needs {need} numbers, got {count}")
        elif kind in ("polygon", "polyline", "points") and count % 2:
            self.fail(f"{path}.points", f"a {kind} needs x,y pairs, got {count} numbers")

    def shape_type(self, path: str, label: LabelInfo, kind: str) -> None:
        if label.type == "tag" or (
            label.type not in ("any", kind)
            and not (label.type == "points" and label.parent_id is not None and kind == "points")
        ):
            self.fail(f"{path}.type", f"label '{label.name}' is for {label.type}, not {kind}")
        if kind == "skeleton" and label.type != "skeleton":
            self.fail(f"{path}.type", f"label '{label.name}' is not a skeleton")


def check_value(spec: AttributeInfo, value: str) -> str | None:
    kind = spec.input_type
    if kind in ("select", "radio"):
        if value not in spec.values:
            return f"'{value}' is not one of {spec.values} for '{spec.name}'"
    elif kind == "checkbox":
        if value.lower() not in ("true", "false"):
            return f"'{spec.name}' is a checkbox: use true or false, not '{value}'"
    elif kind == "number":
        try:
            number = float(value)
            low, high = float(spec.values[0]), float(spec.values[1])
        except (ValueError, IndexError):
            return f"'{spec.name}' needs a number, not '{value}'"
        if not low <= number <= high:
            return f"'{spec.name}' must be within [{spec.values[0]}, {spec.values[1]}]"
    return None


def _dumps(obj: dict[str, Any]) -> str:
    return orjson.dumps(obj).decode()


def _shape_body(v: _Validator, path: str, s: SubShape, frame: int, label: LabelInfo) -> str:
    v.points(path, s.type, s.points)
    return _dumps(
        {
            "type": s.type,
            "frame": frame,
            "label_id": s.label_id,
            "group": s.group,
            "source": s.source,
            "occluded": s.occluded,
            "outside": s.outside,
            "z_order": s.z_order,
            "rotation": s.rotation,
            "points": s.points,
            "attributes": v.attributes(path, label, s.attributes),
            "score": s.score,
        }
    )


def _tracked_body(v: _Validator, path: str, s: TrackedShapeIn, label: LabelInfo) -> str:
    v.points(path, s.type, s.points)
    return _dumps(
        {
            "type": s.type,
            "frame": s.frame,
            "occluded": s.occluded,
            "outside": s.outside,
            "z_order": s.z_order,
            "rotation": s.rotation,
            "points": s.points,
            "attributes": v.attributes(path, label, s.attributes),
        }
    )


def build_rows(data: LabeledData, scope: Scope) -> _Rows:
    """Validate every object and turn it into table rows; raise with all errors found."""
    v = _Validator(scope)
    rows = _Rows()
    for i, tag in enumerate(data.tags):
        path = f"tags[{i}]"
        label = v.label(path, tag.label_id)
        v.frame(path, tag.frame)
        if label is None:
            continue
        if label.type not in ("any", "tag"):
            v.fail(f"{path}.label_id", f"label '{label.name}' is for {label.type}, not tags")
        body = _dumps(
            {
                "frame": tag.frame,
                "label_id": tag.label_id,
                "group": tag.group,
                "source": tag.source,
                "attributes": v.attributes(path, label, tag.attributes),
            }
        )
        rows.tags.append(
            {
                "job_id": scope.job_for(tag.frame),
                "frame": tag.frame,
                "label_id": tag.label_id,
                "body": body,
            }
        )
        rows.ids["tags"].append(tag.id)
    for i, shape in enumerate(data.shapes):
        path = f"shapes[{i}]"
        label = v.label(path, shape.label_id)
        v.frame(path, shape.frame)
        if label is None:
            continue
        v.shape_type(path, label, shape.type)
        job_id = scope.job_for(shape.frame)
        body = _shape_body(v, path, shape, shape.frame, label)
        rows.shapes.append(
            {
                "job_id": job_id,
                "frame": shape.frame,
                "label_id": shape.label_id,
                "type": shape.type,
                "parent_id": None,
                "body": body,
            }
        )
        rows.ids["shapes"].append(shape.id)
        elements = []
        if shape.elements and shape.type != "skeleton":
            v.fail(f"{path}.elements", "only skeletons have elements")
        seen: set[int] = set()
        for j, element in enumerate(shape.elements):
            epath = f"{path}.elements[{j}]"
            sub = v.label(epath, element.label_id, parent=label)
            if sub is None:
                continue
            if element.label_id in seen:
                v.fail(f"{epath}.label_id", f"point '{sub.name}' appears twice in one skeleton")
            seen.add(element.label_id)
            if element.type != "points":
                v.fail(f"{epath}.type", "skeleton elements are points")
            elements.append(
                {
                    "job_id": job_id,
                    "frame": shape.frame,
                    "label_id": element.label_id,
                    "type": element.type,
                    "body": _shape_body(v, epath, element, shape.frame, sub),
                }
            )
        rows.elements.append(elements)
    for i, track in enumerate(data.tracks):
        path = f"tracks[{i}]"
        label = v.label(path, track.label_id)
        v.frame(path, track.frame)
        if label is None:
            continue
        if not track.shapes and not track.elements:
            v.fail(f"{path}.shapes", "a track needs at least one keyframe shape")
        shapes = []
        for j, keyframe in enumerate(track.shapes):
            spath = f"{path}.shapes[{j}]"
            v.frame(spath, keyframe.frame)
            v.shape_type(spath, label, keyframe.type)
            shapes.append(
                {"frame": keyframe.frame, "body": _tracked_body(v, spath, keyframe, label)}
            )
        subs = []
        for j, element in enumerate(track.elements):
            epath = f"{path}.elements[{j}]"
            sub = v.label(epath, element.label_id, parent=label)
            if sub is None:
                continue
            sub_shapes = [
                {"frame": k.frame, "body": _tracked_body(v, f"{epath}.shapes[{n}]", k, sub)}
                for n, k in enumerate(element.shapes)
            ]
            subs.append((_track_row(v, epath, element, sub, scope), sub_shapes))
        rows.tracks.append(_track_row(v, path, track, label, scope))
        rows.track_shapes.append(shapes)
        rows.sub_tracks.append(subs)
        rows.ids["tracks"].append(track.id)
    if v.errors:
        raise AnnotationError(v.errors)
    return rows


def _track_row(
    v: _Validator, path: str, track: SubTrack, label: LabelInfo, scope: Scope
) -> dict[str, Any]:
    body = _dumps(
        {
            "frame": track.frame,
            "label_id": track.label_id,
            "group": track.group,
            "source": track.source,
            "attributes": v.attributes(path, label, track.attributes),
        }
    )
    return {
        "job_id": scope.job_for(track.frame),
        "frame": track.frame,
        "label_id": track.label_id,
        "parent_id": None,
        "body": body,
    }


# ---- writing -------------------------------------------------------------------------------


def _insert_returning(conn: Connection, table: Any, rows: list[dict[str, Any]]) -> list[int]:
    if not rows:
        return []
    if conn.dialect.name == "sqlite":
        # SQLite runs an ordered INSERT ... RETURNING one row per statement (100k round
        # trips for 100k shapes). Its writes are serialised, so once this transaction holds
        # the write lock, ids past the current maximum are ours and one executemany does.
        job_id = rows[0]["job_id"]
        conn.execute(
            update(Job).where(Job.id == job_id).values(annotation_version=Job.annotation_version)
        )
        start = conn.execute(select(func.coalesce(func.max(table.id), 0))).scalar_one() + 1
        ids = list(range(start, start + len(rows)))
        keys = list(rows[0])
        columns = ", ".join(f'"{k}"' for k in ["id", *keys])
        marks = ", ".join("?" * (len(keys) + 1))
        conn.exec_driver_sql(
            f'INSERT INTO "{table.__tablename__}" ({columns}) VALUES ({marks})',
            [(i, *(row[k] for k in keys)) for row, i in zip(rows, ids, strict=True)],
        )
        return ids
    # PostgreSQL: an ordered INSERT ... RETURNING of 100k rows takes seconds; drawing the ids
    # from the table's own sequence first keeps them concurrency-safe and the insert plain.
    sequence = conn.execute(
        text("SELECT pg_get_serial_sequence(:t, 'id')"), {"t": table.__tablename__}
    ).scalar_one()
    ids = list(
        conn.execute(
            text("SELECT nextval(:s) FROM generate_series(1, :n)"), {"s": sequence, "n": len(rows)}
        ).scalars()
    )
    keys = list(rows[0])
    columns = ", ".join(f'"{k}"' for k in ["id", *keys])
    cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
    try:
        # COPY is PostgreSQL's bulk path: several times faster than multi-row INSERTs.
        with cursor.copy(f'COPY "{table.__tablename__}" ({columns}) FROM STDIN') as copy:
            for row, object_id in zip(rows, ids, strict=True):
                copy.write_row((object_id, *(row[k] for k in keys)))
    finally:
        cursor.close()
    return ids


def _insert(conn: Connection, rows: _Rows) -> dict[str, list[int]]:
    """Insert validated rows; returns the new ids of top-level objects in payload order."""
    tag_ids = _insert_returning(conn, LabeledImage, rows.tags)
    shape_ids = _insert_returning(conn, LabeledShape, rows.shapes)
    elements = []
    for parent_id, children in zip(shape_ids, rows.elements, strict=True):
        for child in children:
            child["parent_id"] = parent_id
            elements.append(child)
    if elements:
        conn.execute(insert(LabeledShape), elements)
    track_ids = _insert_returning(conn, LabeledTrack, rows.tracks)
    keyframes = []
    for track_id, shapes, subs in zip(track_ids, rows.track_shapes, rows.sub_tracks, strict=True):
        for shape in shapes:
            keyframes.append({"track_id": track_id, **shape})
        for sub_row, sub_shapes in subs:
            sub_row["parent_id"] = track_id
            (sub_id,) = _insert_returning(conn, LabeledTrack, [sub_row])
            keyframes.extend({"track_id": sub_id, **s} for s in sub_shapes)
    if keyframes:
        conn.execute(insert(TrackedShape), keyframes)
    return {"tags": tag_ids, "shapes": shape_ids, "tracks": track_ids}


def clear(conn: Connection, job_ids: list[int]) -> None:
    conn.execute(delete(LabeledImage).where(LabeledImage.job_id.in_(job_ids)))
    conn.execute(
        delete(TrackedShape).where(
            TrackedShape.track_id.in_(
                select(LabeledTrack.id).where(LabeledTrack.job_id.in_(job_ids))
            )
        )
    )
    conn.execute(
        delete(LabeledTrack).where(
            LabeledTrack.job_id.in_(job_ids), LabeledTrack.parent_id.is_not(None)
        )
    )
    conn.execute(delete(LabeledTrack).where(LabeledTrack.job_id.in_(job_ids)))
    conn.execute(
        delete(LabeledShape).where(
            LabeledShape.job_id.in_(job_ids), LabeledShape.parent_id.is_not(None)
        )
    )
    conn.execute(delete(LabeledShape).where(LabeledShape.job_id.in_(job_ids)))


def replace(session: Session, scope: Scope, data: LabeledData) -> dict[str, list[int]]:
    """PUT: the payload becomes the whole content of the scope's jobs."""
    rows = build_rows(data, scope)
    conn = session.connection()
    clear(conn, scope.job_ids)
    return _insert(conn, rows)


def _existing_ids(conn: Connection, table: Any, job_ids: list[int], ids: Iterable[int]) -> set[int]:
    wanted = list({i for i in ids if i is not None})
    found: set[int] = set()
    for start in range(0, len(wanted), 5000):
        batch = wanted[start : start + 5000]
        found.update(
            conn.execute(
                select(table.id).where(table.id.in_(batch), table.job_id.in_(job_ids))
            ).scalars()
        )
    return found


def patch(session: Session, scope: Scope, data: LabeledData, action: str) -> dict[str, list[int]]:
    """PATCH ?action=create|update|delete, matching existing objects by id."""
    if action not in ACTIONS:
        raise AnnotationError([f"action must be one of {', '.join(ACTIONS)}"])
    conn = session.connection()
    groups = (
        ("tags", LabeledImage, data.tags),
        ("shapes", LabeledShape, data.shapes),
        ("tracks", LabeledTrack, data.tracks),
    )
    if action == "create":
        return _insert(conn, build_rows(data, scope))
    errors = []
    found_ids: dict[str, set[int]] = {}
    for name, table, objects in groups:
        ids = [o.id for o in objects]
        missing_id = [i for i, o in enumerate(objects) if o.id is None]
        for index in missing_id[:5]:
            errors.append(f"{name}[{index}].id: an id is required to {action} an object")
        found = _existing_ids(conn, table, scope.job_ids, [i for i in ids if i is not None])
        found_ids[name] = found
        for index, object_id in enumerate(ids):
            if object_id is not None and object_id not in found and len(errors) < 20:
                errors.append(f"{name}[{index}].id: no {name[:-1]} {object_id} in this job")
    if errors:
        raise AnnotationError(errors)
    if action == "delete":
        _delete_ids(conn, found_ids)
        return {name: sorted(ids) for name, ids in found_ids.items()}
    rows = build_rows(data, scope)
    # An update replaces each object whole (its elements and keyframes too), keeping its id.
    _delete_children(conn, found_ids)
    for table, key, items in (
        (LabeledImage, "tags", rows.tags),
        (LabeledShape, "shapes", rows.shapes),
        (LabeledTrack, "tracks", rows.tracks),
    ):
        for object_id, row in zip(rows.ids[key], items, strict=True):
            conn.execute(update(table).where(table.id == object_id).values(**row))
    elements = []
    for parent_id, children in zip(rows.ids["shapes"], rows.elements, strict=True):
        for child in children:
            child["parent_id"] = parent_id
            elements.append(child)
    if elements:
        conn.execute(insert(LabeledShape), elements)
    keyframes = []
    for track_id, shapes, subs in zip(
        rows.ids["tracks"], rows.track_shapes, rows.sub_tracks, strict=True
    ):
        keyframes.extend({"track_id": track_id, **s} for s in shapes)
        for sub_row, sub_shapes in subs:
            sub_row["parent_id"] = track_id
            (sub_id,) = _insert_returning(conn, LabeledTrack, [sub_row])
            keyframes.extend({"track_id": sub_id, **s} for s in sub_shapes)
    if keyframes:
        conn.execute(insert(TrackedShape), keyframes)
    return {k: [i for i in v if i is not None] for k, v in rows.ids.items()}


def _delete_children(conn: Connection, ids: dict[str, set[int]]) -> None:
    shape_ids = list(ids.get("shapes", ()))
    track_ids = list(ids.get("tracks", ()))
    for start in range(0, max(len(shape_ids), len(track_ids)), 5000):
        shapes = shape_ids[start : start + 5000]
        tracks = track_ids[start : start + 5000]
        if shapes:
            conn.execute(delete(LabeledShape).where(LabeledShape.parent_id.in_(shapes)))
        if tracks:
            subs = select(LabeledTrack.id).where(LabeledTrack.parent_id.in_(tracks))
            conn.execute(delete(TrackedShape).where(TrackedShape.track_id.in_(subs)))
            conn.execute(delete(TrackedShape).where(TrackedShape.track_id.in_(tracks)))
            conn.execute(delete(LabeledTrack).where(LabeledTrack.parent_id.in_(tracks)))


def _delete_ids(conn: Connection, ids: dict[str, set[int]]) -> None:
    _delete_children(conn, ids)
    for key, table in (("tags", LabeledImage), ("shapes", LabeledShape), ("tracks", LabeledTrack)):
        wanted = list(ids.get(key, ()))
        for start in range(0, len(wanted), 5000):
            conn.execute(delete(table).where(table.id.in_(wanted[start : start + 5000])))


# ---- reading -------------------------------------------------------------------------------


def _with_id(object_id: int, body: str, extra: str = "") -> str:
    return f'{{"id":{object_id},{body[1:-1]}{extra}}}'


def read_parts(
    conn: Connection, job_ids: list[int], only: dict[str, list[int]] | None = None
) -> tuple[list[str], list[str], list[str]]:
    """Serialised tags, shapes and tracks of the jobs (optionally only some ids)."""

    def where(table: Any, key: str) -> list[Any]:
        clauses = [table.job_id.in_(job_ids)]
        if only is not None:
            clauses.append(table.id.in_(only.get(key) or [-1]))
        return clauses

    tags = [
        _with_id(i, b)
        for i, b in conn.execute(
            select(LabeledImage.id, LabeledImage.body)
            .where(*where(LabeledImage, "tags"))
            .order_by(LabeledImage.id)
        )
    ]
    columns = select(LabeledShape.id, LabeledShape.parent_id, LabeledShape.body)
    if only is None:
        shape_rows: Iterable[Any] = conn.execute(
            columns.where(LabeledShape.job_id.in_(job_ids)).order_by(LabeledShape.id)
        )
    else:
        # Two index lookups (by id, by parent): an OR of both makes the database scan the job.
        wanted = only.get("shapes") or [-1]
        scoped = columns.where(LabeledShape.job_id.in_(job_ids))
        shape_rows = sorted(
            [
                *conn.execute(scoped.where(LabeledShape.id.in_(wanted))),
                *conn.execute(scoped.where(LabeledShape.parent_id.in_(wanted))),
            ],
            key=lambda row: row[0],
        )
    top: list[tuple[int, str]] = []
    children: dict[int, list[str]] = {}
    for object_id, parent_id, body in shape_rows:
        if parent_id is None:
            top.append((object_id, body))
        else:
            children.setdefault(parent_id, []).append(_with_id(object_id, body))
    shapes = [_with_id(i, b, ',"elements":[' + ",".join(children.get(i, ())) + "]") for i, b in top]
    tracks = _read_tracks(conn, where(LabeledTrack, "tracks"), only is not None)
    return tags, shapes, tracks


def _read_tracks(conn: Connection, clauses: list[Any], filtered: bool) -> list[str]:
    rows = list(
        conn.execute(
            select(LabeledTrack.id, LabeledTrack.parent_id, LabeledTrack.body)
            .where(*clauses)
            .order_by(LabeledTrack.id)
        )
    )
    if not rows:
        return []
    ids = [r[0] for r in rows]
    sub_rows = (
        list(
            conn.execute(
                select(LabeledTrack.id, LabeledTrack.parent_id, LabeledTrack.body)
                .where(LabeledTrack.parent_id.in_(ids))
                .order_by(LabeledTrack.id)
            )
        )
        if filtered
        else []
    )
    all_rows = rows + sub_rows
    keyframes: dict[int, list[str]] = {}
    all_ids = [r[0] for r in all_rows]
    for start in range(0, len(all_ids), 5000):
        for object_id, track_id, body in conn.execute(
            select(TrackedShape.id, TrackedShape.track_id, TrackedShape.body)
            .where(TrackedShape.track_id.in_(all_ids[start : start + 5000]))
            .order_by(TrackedShape.frame, TrackedShape.id)
        ):
            keyframes.setdefault(track_id, []).append(_with_id(object_id, body))
    subs: dict[int, list[str]] = {}
    top = []
    for object_id, parent_id, body in all_rows:
        shapes = ',"shapes":[' + ",".join(keyframes.get(object_id, ())) + "]"
        if parent_id is None:
            top.append((object_id, body, shapes))
        else:
            subs.setdefault(parent_id, []).append(_with_id(object_id, body, shapes))
    return [
        _with_id(i, b, s + ',"elements":[' + ",".join(subs.get(i, ())) + "]") for i, b, s in top
    ]


def render(version: int, parts: tuple[list[str], list[str], list[str]]) -> bytes:
    tags, shapes, tracks = parts
    return (
        f'{{"version":{version},"tags":[{",".join(tags)}],"shapes":[{",".join(shapes)}],'
        f'"tracks":[{",".join(tracks)}],"intervals":[]}}'
    ).encode()


def read(
    session: Session, job_ids: list[int], version: int, only: dict[str, list[int]] | None = None
) -> bytes:
    return render(version, read_parts(session.connection(), job_ids, only))


def count(session: Session, job_ids: list[int]) -> dict[str, int]:
    from sqlalchemy import func

    conn = session.connection()
    return {
        "tags": conn.execute(
            select(func.count()).where(LabeledImage.job_id.in_(job_ids))
        ).scalar_one(),
        "shapes": conn.execute(
            select(func.count()).where(
                LabeledShape.job_id.in_(job_ids), LabeledShape.parent_id.is_(None)
            )
        ).scalar_one(),
        "tracks": conn.execute(
            select(func.count()).where(
                LabeledTrack.job_id.in_(job_ids), LabeledTrack.parent_id.is_(None)
            )
        ).scalar_one(),
    }


__all__ = [
    "AnnotationError",
    "LabeledData",
    "Scope",
    "Shape",
    "Tag",
    "Track",
    "count",
    "parse",
    "patch",
    "read",
    "replace",
]
