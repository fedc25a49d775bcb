"""Fast validation of CVAT annotation payloads into table rows, naming each bad field.

A job save can carry 100k shapes; a generic model parser spends seconds building objects
we throw away. Here the JSON is parsed once with orjson and each object is checked and
serialised in one pass, with attribute checks memoised per (label, attribute, value).
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson

from labelvault.annotations.refusals import AnnotationError, Refusal, refusal
from labelvault.projects.service import AttributeInfo, LabelInfo

SHAPE_TYPES = frozenset(
    ("rectangle", "polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton")
)
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
PAIRED = frozenset(("polygon", "polyline", "points"))
MAX_ERRORS = 20
# Bounds of one object (CVAT has none for points; these are ours, in the README): 100,000
# vertices per polygon/polyline/points shape; a mask's RLE up to 4 million numbers (a
# 2000x2000 checkerboard); an attribute value as long as CVAT's column (4096 characters).
MAX_POINTS = 200_000
MAX_MASK_POINTS = 4_000_004
MAX_ATTRIBUTE_VALUE = 4096


class _TooMany(Exception):
    """Enough errors to report; stop looking for more."""


_F = TypeVar("_F", bound=Callable[..., Any])


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a big payload is turned into objects.

    Parsing 100k shapes allocates a few hundred thousand dicts and lists; the collector
    keeps rescanning them as they pile up, which triples the time (measured: 0.24 s vs
    0.07 s to parse a 12 MB job). Reference counting still frees everything.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def without_gc(func: _F) -> _F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with gc_paused():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


@without_gc
def parse(raw: bytes) -> dict[str, list[Any]]:
    """The payload's tags, shapes and tracks lists (other keys such as version ignored)."""
    if not raw.strip():
        return {"tags": [], "shapes": [], "tracks": []}
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        reason = f"not valid JSON ({exc})"
        raise AnnotationError([Refusal(f"body: {reason}", reason, field="body")]) from exc
    if not isinstance(data, dict):
        reason = "must be a JSON object with tags, shapes and tracks"
        raise AnnotationError([Refusal(f"body: {reason}", reason, field="body")])
    out = {}
    for key in ("tags", "shapes", "tracks"):
        value = data.get(key)
        if value is None:
            value = []
        if not isinstance(value, list):
            raise AnnotationError([Refusal(f"{key}: must be a list", "must be a list", key)])
        out[key] = value
    return out


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


@dataclass
class Rows:
    """Validated rows, in payload order, ready to insert (ids are given at insert time)."""

    tags: list[dict[str, Any]] = field(default_factory=list)
    shapes: list[dict[str, Any]] = field(default_factory=list)
    elements: list[list[dict[str, Any]]] = field(default_factory=list)
    tracks: list[dict[str, Any]] = field(default_factory=list)
    track_shapes: list[list[dict[str, Any]]] = field(default_factory=list)
    sub_tracks: list[list[tuple[dict[str, Any], list[dict[str, Any]]]]] = field(
        default_factory=list
    )
    # The ids the payload gave each top-level object (None when it gave none).
    ids: dict[str, list[int | None]] = field(
        default_factory=lambda: {"tags": [], "shapes": [], "tracks": []}
    )


def check_value(spec: AttributeInfo, value: str) -> str | None:
    """Why `value` is not valid for the attribute, or None when it is."""
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


def _is_int(value: Any) -> bool:
    # bool is a subclass of int in Python but not an integer in JSON terms.
    return type(value) is int or (type(value) is float and value.is_integer())


def _is_number(value: Any) -> bool:
    return type(value) is float or type(value) is int


class Validator:
    """Checks objects of one payload against a scope, collecting errors with their paths."""

    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.errors: list[Refusal] = []
        self._attr_cache: dict[tuple[int, Any, Any, type], tuple[str | None, Any]] = {}
        self._list_cache: dict[tuple[Any, ...], list[dict[str, Any]]] = {}
        # The object being checked: its kind's list and position (set by the loops below,
        # so a refusal names it without parsing paths back).
        self.kind = "tags"
        self.objects: list[Any] = []
        self.index = 0

    def fail(self, path: str, message: str) -> None:
        prefix = len(self.kind) + len(str(self.index)) + 2  # "shapes[12]"
        field_path = path[prefix + 1 :] or None
        obj = self.objects[self.index] if self.index < len(self.objects) else None
        self.errors.append(refusal(self.kind, self.index, field_path, message, obj))
        if len(self.errors) >= MAX_ERRORS:
            raise _TooMany

    def start(self, kind: str, objects: list[Any]) -> None:
        self.kind, self.objects, self.index = kind, objects, 0

    # ---- fields ----------------------------------------------------------------------------

    def obj(self, path: str, value: Any) -> dict[str, Any] | None:
        if type(value) is not dict:
            self.fail(path, "must be an object")
            return None
        return value

    def int_field(
        self,
        path: str,
        obj: dict[str, Any],
        name: str,
        default: Any = None,
        minimum: int | None = 0,
        nullable: bool = False,
    ) -> Any:
        value = obj.get(name, default)
        if value is None:
            if nullable or default is not None:
                return default
            self.fail(f"{path}.{name}", "is required")
            return None
        if not _is_int(value):
            self.fail(f"{path}.{name}", f"must be an integer, not {value!r}")
            return default
        value = int(value)
        if minimum is not None and value < minimum:
            self.fail(f"{path}.{name}", f"must be at least {minimum}")
        return value

    def bool_field(self, path: str, obj: dict[str, Any], name: str) -> bool:
        value = obj.get(name, False)
        if type(value) is not bool:
            if value is None:
                return False
            self.fail(f"{path}.{name}", f"must be true or false, not {value!r}")
            return False
        return value

    def number_field(
        self, path: str, obj: dict[str, Any], name: str, default: float, low: float, high: float
    ) -> float:
        value = obj.get(name, default)
        if value is None:
            return default
        if not _is_number(value):
            self.fail(f"{path}.{name}", f"must be a number, not {value!r}")
            return default
        if not low <= value <= high:
            self.fail(f"{path}.{name}", f"must be within [{low:g}, {high:g}], got {value}")
        return float(value)

    def source(self, path: str, obj: dict[str, Any]) -> str:
        value = obj.get("source", "manual")
        if value is None:
            return "manual"
        if type(value) is not str or not value:
            self.fail(f"{path}.source", "must be a non-empty string such as 'manual'")
            return "manual"
        return value

    def label(
        self, path: str, obj: dict[str, Any], parent: LabelInfo | None = None
    ) -> LabelInfo | None:
        label_id = obj.get("label_id")
        if not _is_int(label_id):
            self.fail(f"{path}.label_id", f"must be a label id, not {label_id!r}")
            return None
        info = self.scope.labels.get(int(label_id))
        if info is None:
            self.fail(f"{path}.label_id", f"label {label_id} is not a label of this task")
            return None
        if parent is None and info.parent_id is not None:
            self.fail(f"{path}.label_id", f"label {label_id} is a skeleton point, not a label")
            return None
        if parent is not None and info.id not in parent.sublabel_ids:
            self.fail(
                f"{path}.label_id", f"label {label_id} is not a point of skeleton '{parent.name}'"
            )
            return None
        return info

    def frame(self, path: str, obj: dict[str, Any], default: int | None = None) -> int:
        frame = self.int_field(path, obj, "frame", default)
        if frame is None:
            return 0
        if not self.scope.has_frame(frame):
            self.fail(
                f"{path}.frame",
                f"frame {frame} is outside this job's frames "
                f"{self.scope.frame_min}-{self.scope.frame_max}",
            )
        return frame

    def object_id(self, path: str, obj: dict[str, Any]) -> int | None:
        return self.int_field(path, obj, "id", None, nullable=True)

    def attributes(self, path: str, label: LabelInfo, obj: dict[str, Any]) -> list[dict[str, Any]]:
        attrs = obj.get("attributes")
        if not attrs:
            return []
        if type(attrs) is not list:
            self.fail(f"{path}.attributes", "must be a list")
            return []
        # Objects of one label mostly repeat a few attribute combinations: a whole list that
        # was valid once is valid again (it is only serialised, so sharing it is safe).
        try:
            whole_key = (
                label.id,
                *(
                    (a["spec_id"], a["value"], type(a["value"])) if type(a) is dict else None
                    for a in attrs
                ),
            )
            known = self._list_cache.get(whole_key)
        except (KeyError, TypeError):
            whole_key, known = None, None
        if known is not None:
            return known
        out = self._attributes(path, label, attrs)
        if whole_key is not None and len(out) == len(attrs) and len(self._list_cache) < 10_000:
            self._list_cache[whole_key] = out
        return out

    def _attributes(self, path: str, label: LabelInfo, attrs: list[Any]) -> list[dict[str, Any]]:
        out = []
        seen = set()
        cache = self._attr_cache
        for index, attr in enumerate(attrs):
            spec_id = attr.get("spec_id") if type(attr) is dict else None
            value = attr.get("value") if type(attr) is dict else None
            try:
                # The type is part of the key: True == 1 == 1.0 but they are not one value.
                key = (label.id, spec_id, value, type(value))
                cached = cache.get(key)
            except TypeError:  # unhashable value such as a list
                key, cached = None, None
            if cached is None:
                cached = self._check_attribute(label, spec_id, value)
                if key is not None:
                    cache[key] = cached
            error, normalised = cached
            if error is not None:
                field_name, message = error.split("|", 1)
                self.fail(f"{path}.attributes[{index}]{field_name}", message)
                continue
            if spec_id in seen:
                self.fail(
                    f"{path}.attributes[{index}].spec_id", f"attribute {spec_id} is given twice"
                )
                continue
            seen.add(spec_id)
            out.append({"spec_id": spec_id, "value": normalised})
        return out

    @staticmethod
    def _check_attribute(label: LabelInfo, spec_id: Any, value: Any) -> tuple[str | None, Any]:
        if not _is_int(spec_id):
            return f".spec_id|must be an attribute id, not {spec_id!r}", None
        spec = label.attributes.get(int(spec_id))
        if spec is None:
            return f".spec_id|attribute {spec_id} does not belong to label '{label.name}'", None
        if type(value) is bool:
            value = "true" if value else "false"
        elif _is_number(value):
            value = str(value)
        elif type(value) is not str:
            return f".value|must be a string, not {value!r}", None
        if len(value) > MAX_ATTRIBUTE_VALUE:
            return (
                f".value|may be at most {MAX_ATTRIBUTE_VALUE} characters, got {len(value):,}",
                None,
            )
        error = check_value(spec, value)
        if error:
            return f".value|{error}", None
        return None, value.lower() if spec.input_type == "checkbox" else value

    def points(self, path: str, kind: str, obj: dict[str, Any]) -> list[float]:
        points = obj.get("points")
        if points is None:
            points = []
        cap = MAX_MASK_POINTS if kind == "mask" else MAX_POINTS
        if type(points) is list and len(points) > cap:
            self.fail(
                f"{path}.points",
                f"a {kind} may have at most {cap:,} numbers, got {len(points):,}; split it",
            )
            return []
        # set(map(type, …)) and map(float, …) run in C: one pass each, no per-item bytecode.
        if type(points) is not list or not _NUMBER_TYPES.issuperset(map(type, points)):
            self.fail(f"{path}.points", "must be a list of numbers")
            return []
        low, high = POINT_RULES[kind]
        count = len(points)
        if count < low or (high is not None and count > high):
            need = f"{low}" if low == high else f"at least {low}"
            self.fail(f"{path}.points", f"a {kind} needs {need} numbers, got {count}")
        elif kind in PAIRED and count % 2:
            self.fail(f"{path}.points", f"a {kind} needs x,y pairs, got {count} numbers")
        return list(map(float, points))

    def shape_type(self, path: str, obj: dict[str, Any], label: LabelInfo) -> str:
        kind = obj.get("type")
        if kind not in SHAPE_TYPES:
            self.fail(
                f"{path}.type", f"must be one of {', '.join(sorted(SHAPE_TYPES))}, not {kind!r}"
            )
            return "points"
        if label.type == "tag" or (
            label.type not in ("any", kind)
            and not (label.type == "points" and label.parent_id is not None and kind == "points")
        ):
            self.fail(f"{path}.type", f"label '{label.name}' is for {label.type}, not {kind}")
        if kind == "skeleton" and label.type != "skeleton":
            self.fail(f"{path}.type", f"label '{label.name}' is not a skeleton")
        return kind

    # ---- objects ---------------------------------------------------------------------------

    def shape_body(
        self, path: str, obj: dict[str, Any], label: LabelInfo, frame: int, kind: str
    ) -> str:
        # Well-typed values (what clients send) pass the inline checks; anything else goes
        # through the field helpers, which coerce or report it.
        get = obj.get
        group = get("group", 0)
        if not (type(group) is int and group >= 0):
            group = self.int_field(path, obj, "group", 0, nullable=True)
        source = get("source", "manual")
        if not (type(source) is str and source):
            source = self.source(path, obj)
        occluded = get("occluded", False)
        if type(occluded) is not bool:
            occluded = self.bool_field(path, obj, "occluded")
        outside = get("outside", False)
        if type(outside) is not bool:
            outside = self.bool_field(path, obj, "outside")
        z_order = get("z_order", 0)
        if type(z_order) is not int:
            z_order = self.int_field(path, obj, "z_order", 0, minimum=None)
        rotation = get("rotation", 0.0)
        if not ((type(rotation) is float or type(rotation) is int) and 0 <= rotation <= 360):
            rotation = self.number_field(path, obj, "rotation", 0.0, 0, 360)
        score = get("score", 1.0)
        if not ((type(score) is float or type(score) is int) and 0 <= score <= 1):
            score = self.number_field(path, obj, "score", 1.0, 0, 1)
        return orjson.dumps(
            {
                "type": kind,
                "frame": frame,
                "label_id": label.id,
                "group": group,
                "source": source,
                "occluded": occluded,
                "outside": outside,
                "z_order": z_order,
                "rotation": float(rotation),
                "points": self.points(path, kind, obj),
                "attributes": self.attributes(path, label, obj) if get("attributes") else [],
                "score": float(score),
            }
        ).decode()

    def tracked_body(self, path: str, obj: dict[str, Any], label: LabelInfo) -> tuple[int, str]:
        kind = (
            self.shape_type(path, obj, label)
            if label.parent_id is None
            else (obj.get("type") if obj.get("type") in SHAPE_TYPES else "points")
        )
        frame = self.frame(path, obj)
        return frame, orjson.dumps(
            {
                "type": kind,
                "frame": frame,
                "occluded": self.bool_field(path, obj, "occluded"),
                "outside": self.bool_field(path, obj, "outside"),
                "z_order": self.int_field(path, obj, "z_order", 0, minimum=None),
                "rotation": self.number_field(path, obj, "rotation", 0.0, 0, 360),
                "points": self.points(path, kind, obj),
                "attributes": self.attributes(path, label, obj),
            }
        ).decode()

    def track_row(self, path: str, obj: dict[str, Any], label: LabelInfo) -> dict[str, Any]:
        frame = self.frame(path, obj)
        body = orjson.dumps(
            {
                "frame": frame,
                "label_id": label.id,
                "group": self.int_field(path, obj, "group", 0, nullable=True),
                "source": self.source(path, obj),
                "attributes": self.attributes(path, label, obj),
            }
        ).decode()
        return {
            "job_id": self.scope.job_for(frame),
            "frame": frame,
            "label_id": label.id,
            "parent_id": None,
            "body": body,
        }


_NUMBER_TYPES = frozenset((int, float))


@without_gc
def build_rows(data: dict[str, list[Any]], scope: Scope) -> Rows:
    """Validate every object and turn it into table rows; raise with the errors found."""
    v = Validator(scope)
    rows = Rows()
    try:
        _tags(v, data["tags"], rows)
        _shapes(v, data["shapes"], rows)
        _tracks(v, data["tracks"], rows)
    except _TooMany:
        pass
    if v.errors:
        raise AnnotationError(v.errors)
    return rows


def _tags(v: Validator, tags: list[Any], rows: Rows) -> None:
    v.start("tags", tags)
    for i, raw in enumerate(tags):
        v.index = i
        path = f"tags[{i}]"
        tag = v.obj(path, raw)
        if tag is None:
            continue
        object_id = v.object_id(path, tag)
        frame = v.frame(path, tag)
        label = v.label(path, tag)
        if label is None:
            continue
        if label.type not in ("any", "tag"):
            v.fail(f"{path}.label_id", _not_a_tag_label(v.scope, label))
        body = orjson.dumps(
            {
                "frame": frame,
                "label_id": label.id,
                "group": v.int_field(path, tag, "group", 0, nullable=True),
                "source": v.source(path, tag),
                "attributes": v.attributes(path, label, tag),
            }
        ).decode()
        rows.tags.append(
            {"job_id": v.scope.job_for(frame), "frame": frame, "label_id": label.id, "body": body}
        )
        rows.ids["tags"].append(object_id)


def _not_a_tag_label(scope: Scope, label: LabelInfo) -> str:
    names = [
        f"'{info.name}'"
        for info in scope.labels.values()
        if info.parent_id is None and info.type in ("tag", "any")
    ]
    usable = f"labels for tags: {', '.join(names)}" if names else "no label here is for tags"
    return f"label '{label.name}' is for {label.type}, not tags ({usable})"


def _shapes(v: Validator, shapes: list[Any], rows: Rows) -> None:
    v.start("shapes", shapes)
    job_for = v.scope.job_for
    labels = v.scope.labels
    has_frame = v.scope.has_frame
    for i, raw in enumerate(shapes):
        # Fast path for the common case, a well-formed shape without elements: the checks
        # the field helpers make, inline. Anything unusual takes the helpers below, which
        # coerce it or report exactly what is wrong.
        if type(raw) is dict:
            frame = raw.get("frame")
            label_id = raw.get("label_id")
            kind = raw.get("type")
            object_id = raw.get("id")
            label = labels.get(label_id) if type(label_id) is int else None
            if (
                type(frame) is int
                and frame >= 0
                and has_frame(frame)
                and label is not None
                and label.parent_id is None
                and kind in SHAPE_TYPES
                and (label.type == kind or (label.type == "any" and kind != "skeleton"))
                and (object_id is None or (type(object_id) is int and object_id >= 0))
                and not raw.get("elements")
            ):
                v.index = i
                rows.shapes.append(
                    {
                        "job_id": job_for(frame),
                        "frame": frame,
                        "label_id": label_id,
                        "type": kind,
                        "parent_id": None,
                        "body": v.shape_body(f"shapes[{i}]", raw, label, frame, kind),
                    }
                )
                rows.ids["shapes"].append(object_id)
                rows.elements.append([])
                continue
        v.index = i
        path = f"shapes[{i}]"
        shape = v.obj(path, raw)
        if shape is None:
            continue
        object_id = v.object_id(path, shape)
        frame = v.frame(path, shape)
        label = v.label(path, shape)
        if label is None:
            continue
        kind = v.shape_type(path, shape, label)
        job_id = job_for(frame)
        rows.shapes.append(
            {
                "job_id": job_id,
                "frame": frame,
                "label_id": label.id,
                "type": kind,
                "parent_id": None,
                "body": v.shape_body(path, shape, label, frame, kind),
            }
        )
        rows.ids["shapes"].append(object_id)
        elements: list[dict[str, Any]] = []
        rows.elements.append(elements)
        raw_elements = shape.get("elements") or []
        if not raw_elements:
            continue
        if kind != "skeleton":
            v.fail(f"{path}.elements", "only skeletons have elements")
            continue
        if type(raw_elements) is not list:
            v.fail(f"{path}.elements", "must be a list")
            continue
        seen: set[int] = set()
        for j, raw_element in enumerate(raw_elements):
            epath = f"{path}.elements[{j}]"
            element = v.obj(epath, raw_element)
            if element is None:
                continue
            sub = v.label(epath, element, parent=label)
            if sub is None:
                continue
            if sub.id in seen:
                v.fail(f"{epath}.label_id", f"point '{sub.name}' appears twice in one skeleton")
            seen.add(sub.id)
            if element.get("type") != "points":
                v.fail(f"{epath}.type", "skeleton elements are points")
            elements.append(
                {
                    "job_id": job_id,
                    "frame": frame,
                    "label_id": sub.id,
                    "type": "points",
                    "parent_id": None,
                    "body": v.shape_body(epath, element, sub, frame, "points"),
                }
            )


def _keyframes(
    v: Validator, path: str, obj: dict[str, Any], label: LabelInfo
) -> list[dict[str, Any]]:
    shapes = obj.get("shapes") or []
    if type(shapes) is not list:
        v.fail(f"{path}.shapes", "must be a list")
        return []
    out = []
    for n, raw in enumerate(shapes):
        spath = f"{path}.shapes[{n}]"
        keyframe = v.obj(spath, raw)
        if keyframe is None:
            continue
        frame, body = v.tracked_body(spath, keyframe, label)
        out.append({"frame": frame, "body": body})
    return out


def _tracks(v: Validator, tracks: list[Any], rows: Rows) -> None:
    v.start("tracks", tracks)
    for i, raw in enumerate(tracks):
        v.index = i
        path = f"tracks[{i}]"
        track = v.obj(path, raw)
        if track is None:
            continue
        object_id = v.object_id(path, track)
        label = v.label(path, track)
        if label is None:
            continue
        row = v.track_row(path, track, label)
        shapes = _keyframes(v, path, track, label)
        raw_elements = track.get("elements") or []
        if not shapes and not raw_elements:
            v.fail(f"{path}.shapes", "a track needs at least one keyframe shape")
        subs = []
        for j, raw_element in enumerate(raw_elements if type(raw_elements) is list else []):
            epath = f"{path}.elements[{j}]"
            element = v.obj(epath, raw_element)
            if element is None:
                continue
            sub = v.label(epath, element, parent=label)
            if sub is None:
                continue
            subs.append((v.track_row(epath, element, sub), _keyframes(v, epath, element, sub)))
        rows.tracks.append(row)
        rows.track_shapes.append(shapes)
        rows.sub_tracks.append(subs)
        rows.ids["tracks"].append(object_id)
