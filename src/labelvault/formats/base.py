"""Neutral, database-free data model and interfaces shared by every dataset format."""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO, Protocol

from .interpolation import tracked_at

# Annotation objects use CVAT's backup ("annotations.json") dict form with label/attribute
# NAMES instead of ids, so the server can map them onto whatever ids its database uses.
Shape = dict[str, Any]
Tag = dict[str, Any]
Track = dict[str, Any]

SHAPE_TYPES = (
    "rectangle",
    "polygon",
    "polyline",
    "points",
    "ellipse",
    "cuboid",
    "mask",
    "skeleton",
)


@dataclass
class AttributeDef:
    name: str
    input_type: str = "text"
    mutable: bool = False
    values: list[str] = field(default_factory=list)
    default_value: str = ""


@dataclass
class LabelDef:
    name: str
    type: str = "any"
    color: str = ""
    attributes: list[AttributeDef] = field(default_factory=list)
    sublabels: list[LabelDef] = field(default_factory=list)
    svg: str = ""


@dataclass
class FrameInfo:
    frame: int
    name: str  # relative path including the extension, e.g. "dir/img_01.png"
    width: int
    height: int
    subset: str = ""
    open_image: Callable[[], BinaryIO] | None = None
    task_id: int | None = None  # project exports: the task the frame belongs to


@dataclass
class SourceMeta:
    name: str = ""
    id: int = 0
    mode: str = "annotation"  # "annotation" or "interpolation", as in CVAT
    size: int = 0
    created: str = ""
    updated: str = ""
    kind: str = "task"  # "task" or "project"
    subset: str = ""  # a task's subset ("" when it has none)
    overlap: int = 0
    tasks: list[SourceMeta] = field(default_factory=list)  # project exports: its tasks


class ExportSource(Protocol):
    """What an exporter reads: meta, labels, then per-frame annotations in frame order."""

    meta: SourceMeta
    labels: list[LabelDef]

    def frames(self) -> Iterator[tuple[FrameInfo, list[Tag], list[Shape]]]: ...

    def tracks(self) -> Iterator[Track]: ...


@dataclass
class ImportedFrame:
    """Annotations of one dataset item; the server matches ``name`` against its frames."""

    name: str  # path as written in the dataset; may lack the extension (YOLO, COCO ids...)
    frame: int | None = None  # frame number when the format records one (CVAT XML)
    width: int | None = None
    height: int | None = None
    subset: str = ""
    task_id: int | None = None  # CVAT project exports say which task an item belongs to
    tags: list[Tag] = field(default_factory=list)
    shapes: list[Shape] = field(default_factory=list)


class ImportedDataset:
    """Lazy view of an imported dataset.

    ``frames()`` and ``tracks()`` are generators over the files; ``labels`` grows while they
    are consumed (formats with a label list in a header fill it up front) and is complete
    once both generators are exhausted. Track shape frames use the dataset's frame numbers,
    which ``ImportedFrame.frame`` relates to names.
    """

    def __init__(self) -> None:
        self.labels: dict[str, LabelDef] = {}

    def frames(self) -> Iterator[ImportedFrame]:
        return iter(())

    def tracks(self) -> Iterator[Track]:
        return iter(())

    def see_label(self, name: str, type_: str = "any", attributes: Iterable[str] = ()) -> None:
        """Record a label used by the data; a label seen with two shape types becomes "any"."""
        label = self.labels.get(name)
        if label is None:
            label = self.labels[name] = LabelDef(name=name, type=type_)
        elif label.type != type_ and label.type not in ("any", "skeleton"):
            label.type = "any"
        known = {a.name for a in label.attributes}
        for attr in attributes:
            if attr not in known:
                label.attributes.append(AttributeDef(name=attr))
                known.add(attr)

    def see_shape(self, shape: Shape) -> None:
        attrs = [a["name"] for a in shape.get("attributes", ())]
        self.see_label(shape["label"], shape_label_type(shape["type"]), attrs)
        for el in shape.get("elements", ()):
            self.see_label(el["label"], "points", [a["name"] for a in el.get("attributes", ())])


class Exporter(Protocol):
    def __call__(self, source: ExportSource, out: IO[bytes], save_images: bool) -> None: ...


# Formats with normalised coordinates (YOLO family) need each image's size; they read it from
# the image when the archive has one, else ask the server through this callback.
FrameSizeLookup = Callable[[str], "tuple[int, int] | None"]  # name -> (width, height)


class Importer(Protocol):
    def __call__(
        self, path: Path, *, frame_size: FrameSizeLookup | None = None
    ) -> ImportedDataset: ...


@dataclass(frozen=True)
class Format:
    """One CVAT format name; import and export may accept different file kinds."""

    name: str
    version: str
    export_ext: str | None = None
    import_ext: str | None = None
    exporter: Exporter | None = None
    importer: Importer | None = None
    dimension: str = "2d"
    enabled: bool = True

    @property
    def display_name(self) -> str:
        return f"{self.name} {self.version}"

    @property
    def can_export(self) -> bool:
        return self.exporter is not None

    @property
    def can_import(self) -> bool:
        return self.importer is not None


class FormatError(ValueError):
    """A dataset file that cannot be read; the message names the file and what is wrong."""


# ---------------------------------------------------------------- shape helpers


def shape_label_type(shape_type: str) -> str:
    return "tag" if shape_type == "tag" else shape_type


def make_shape(
    type_: str,
    label: str,
    frame: int,
    points: Iterable[float] = (),
    *,
    attributes: Iterable[dict[str, str]] | dict[str, Any] = (),
    occluded: bool = False,
    outside: bool = False,
    z_order: int = 0,
    rotation: float = 0.0,
    group: int = 0,
    source: str = "file",
    elements: Iterable[Shape] = (),
) -> Shape:
    return {
        "type": type_,
        "label": label,
        "frame": frame,
        "points": [float(p) for p in points],
        "occluded": occluded,
        "outside": outside,
        "z_order": z_order,
        "rotation": rotation,
        "attributes": attr_list(attributes),
        "group": group,
        "source": source,
        "elements": list(elements),
    }


def make_tag(
    label: str,
    frame: int,
    attributes: Iterable[dict[str, str]] | dict[str, Any] = (),
    group: int = 0,
    source: str = "file",
) -> Tag:
    return {
        "label": label,
        "frame": frame,
        "attributes": attr_list(attributes),
        "group": group,
        "source": source,
    }


def attr_list(attributes: Iterable[dict[str, str]] | dict[str, Any]) -> list[dict[str, str]]:
    """Accepts CVAT's [{"name","value"}] list or a plain mapping; values become strings."""
    if isinstance(attributes, dict):
        return [{"name": str(k), "value": attr_str(v)} for k, v in attributes.items()]
    return [{"name": a["name"], "value": attr_str(a["value"])} for a in attributes]


def attr_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def attr_dict(obj: Shape | Tag) -> dict[str, str]:
    return {a["name"]: a["value"] for a in obj.get("attributes", ())}


def shape_bbox(shape: Shape) -> tuple[float, float, float, float]:
    """Axis-aligned (x1, y1, x2, y2) of any shape; masks use CVAT's inclusive pixel box."""
    t = shape["type"]
    pts = shape["points"]
    if t == "mask":
        x1, y1, x2, y2 = pts[-4:]
        return x1, y1, x2 + 1, y2 + 1
    if t == "ellipse":
        cx, cy, rx_x, ry_y = pts[:4]
        rx, ry = abs(rx_x - cx), abs(cy - ry_y)
        return cx - rx, cy - ry, cx + rx, cy + ry
    if t == "skeleton":
        pts = [p for el in shape.get("elements", ()) if not el.get("outside") for p in el["points"]]
    if t == "rectangle" and shape.get("rotation"):
        pts = rotated_box_corners(shape)
    if not pts:
        return 0.0, 0.0, 0.0, 0.0
    xs, ys = pts[0::2], pts[1::2]
    return min(xs), min(ys), max(xs), max(ys)


def rotated_box_corners(shape: Shape) -> list[float]:
    """Four corners (clockwise from top-left) of a box rotated about its centre."""
    import math

    x1, y1, x2, y2 = shape["points"][:4]
    cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
    a = math.radians(shape.get("rotation") or 0.0)
    cos_a, sin_a = math.cos(a), math.sin(a)
    out: list[float] = []
    for x, y in ((x1, y1), (x2, y1), (x2, y2), (x1, y2)):
        dx, dy = x - cx, y - cy
        out += [cx + dx * cos_a - dy * sin_a, cy + dx * sin_a + dy * cos_a]
    return out


# ---------------------------------------------------------------- tracks → per-frame shapes


def track_shape_at(track: Track, frame: int) -> Shape | None:
    """The visible shape of a track on ``frame`` (None when outside or not started).

    The rules are CVAT's (see ``interpolation``). A skeleton shows on the frames its own
    keyframes cover, with each element interpolated on its own (an element's outside state
    carries on, as in CVAT); it is hidden when every element is outside. An element whose
    track has not started yet is reported outside so the skeleton keeps its topology.
    The shape carries ``keyframe``: whether ``frame`` is one of the track's keyframes.
    """
    tracked = tracked_at(track.get("shapes") or [], frame)
    if tracked is None or tracked["outside"] or frame < int(track.get("frame") or 0):
        return None
    shape = _tracked_to_shape(track, tracked, frame)
    if track.get("elements"):
        elements = []
        for sub in track["elements"]:
            keys = sub.get("shapes") or []
            el_tracked = tracked_at(keys, frame, include_outside=True)
            if el_tracked is None:
                if not keys:
                    continue
                el_tracked = {**keys[0], "outside": True, "keyframe": False}
            el = _tracked_to_shape(sub, el_tracked, frame)
            elements.append(el)
        if elements and all(e["outside"] for e in elements):
            return None
        shape["type"] = "skeleton"
        shape["points"] = []
        shape["elements"] = elements
    return shape


def _tracked_to_shape(track: Track, tracked: dict[str, Any], frame: int) -> Shape:
    attrs = {a["name"]: a["value"] for a in track.get("attributes", ())}
    attrs.update({a["name"]: a["value"] for a in tracked.get("attributes", ())})
    shape = make_shape(
        tracked.get("type", "points"),
        track["label"],
        frame,
        tracked.get("points", ()),
        attributes=attrs,
        occluded=bool(tracked.get("occluded")),
        outside=bool(tracked.get("outside")),
        z_order=int(tracked.get("z_order") or 0),
        rotation=float(tracked.get("rotation") or 0.0),
        group=int(track.get("group") or 0),
        source=track.get("source") or "manual",
    )
    shape["keyframe"] = bool(tracked.get("keyframe"))
    return shape


def iter_frames_with_tracks(
    source: ExportSource,
) -> Iterator[tuple[FrameInfo, list[Tag], list[Shape]]]:
    """``source.frames()`` with interpolated track shapes merged in, for per-frame formats.

    Tracks are held in memory (they are few next to shapes); frames still stream.
    """
    tracks = sorted(source.tracks(), key=lambda t: t["frame"])
    for info, tags, shapes in source.frames():
        extra = []
        for track_id, track in enumerate(tracks):
            if track["frame"] > info.frame:
                break
            shape = track_shape_at(track, info.frame)
            if shape is not None:
                shape["track_id"] = track_id
                extra.append(shape)
        yield info, tags, shapes + extra if extra else shapes


# ---------------------------------------------------------------- zip / file helpers


def zip_write_text(zf: zipfile.ZipFile, arcname: str, text: str) -> None:
    zf.writestr(
        zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0)),
        text.encode("utf-8"),
        compress_type=zipfile.ZIP_DEFLATED,
    )


def zip_write_image(zf: zipfile.ZipFile, arcname: str, info: FrameInfo) -> bool:
    """Copy a frame's image into the archive in chunks; images are stored, not deflated."""
    if info.open_image is None:
        return False
    zi = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
    zi.compress_type = zipfile.ZIP_STORED
    with info.open_image() as src, zf.open(zi, "w", force_zip64=True) as dst:
        while chunk := src.read(1 << 20):
            dst.write(chunk)
    return True


def open_zip_out(out: IO[bytes]) -> zipfile.ZipFile:
    return zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)


def load_json(path: Path) -> Any:
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise FormatError(f"{path.name}: malformed JSON ({e})") from e
    except RecursionError:
        raise FormatError(
            f"{path.name}: the JSON is nested too deeply to be an annotation file; "
            "check that it is the file you meant to import"
        ) from None


def find_files(root: Path, pattern: str) -> list[Path]:
    """Files under ``root`` (or ``root`` itself) matching a glob, in a stable order."""
    if root.is_file():
        return [root] if PurePosixPath(root.name).match(pattern) else []
    return sorted(p for p in root.rglob(pattern) if p.is_file())


def strip_ext(name: str) -> str:
    p = PurePosixPath(name)
    return str(p.with_suffix("")) if p.suffix else name


class SpooledMember:
    """A text member built on a temporary file while images go straight into the zip.

    zipfile can write one member at a time, so the annotation file is spooled (memory,
    then disk past a few MiB) and copied in at the end; neither side is held whole in RAM.
    """

    def __init__(self) -> None:
        import tempfile

        # closed in write_to(); a context manager would not outlive __init__
        self.file = tempfile.SpooledTemporaryFile(max_size=8 << 20, mode="w+b")  # noqa: SIM115

    def write_to(self, zf: zipfile.ZipFile, arcname: str) -> None:
        self.file.seek(0)
        zi = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(zi, "w", force_zip64=True) as dst:
            while chunk := self.file.read(1 << 20):
                dst.write(chunk)
        self.file.close()


# ---------------------------------------------------------------- project subsets (CVAT's rules)

DEFAULT_SUBSET = "default"


def defaulted_subset(subset: str, subsets: Iterable[str]) -> str:
    """A task's subset in a project export; CVAT's ``get_defaulted_subset``.

    A task without a subset goes to "default", or "default_N" when a task already uses that.
    """
    if subset:
        return subset
    taken = set(subsets)
    if DEFAULT_SUBSET not in taken:
        return DEFAULT_SUBSET
    n = 1
    while f"{DEFAULT_SUBSET}_{n}" in taken:
        n += 1
    return f"{DEFAULT_SUBSET}_{n}"


class NameMangler:
    """Unique image names per subset across a project's tasks; CVAT's ``mangle_image_name``.

    The second "a.jpg" of a subset becomes "a_1.jpg", the third "a_2.jpg" (skipping names
    that are taken), so every image of a subset has its own file in ``images/<subset>/``.
    """

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], int] = {}

    def __call__(self, name: str, subset: str) -> str:
        stem, dot, ext = name.rpartition(".")
        if not dot:
            stem, ext = name, ""
        tail = f".{ext}" if dot else ""
        seen = self.counts.get((subset, stem), 0)
        if not seen:
            self.counts[(subset, stem)] = 1
            return name
        candidate = f"{stem}_{seen}"
        i = 1
        while self.counts.get((subset, candidate)):
            candidate = f"{stem}_{seen}_{i}"
            i += 1
        self.counts[(subset, stem)] = seen + 1
        # CVAT leaves the new name unrecorded, so a later real "a_1.jpg" would overwrite
        # the renamed file; recording it keeps every file (names CVAT writes are unchanged)
        self.counts[(subset, candidate)] = 1
        return candidate + tail
