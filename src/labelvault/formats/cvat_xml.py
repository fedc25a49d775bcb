"""CVAT XML: "CVAT for images 1.1" / "CVAT for video 1.1" export and "CVAT 1.1" import.

This is CVAT's native format and expresses everything LabelVault stores except shape
``score`` values and intervals (audio). Coordinates are written with two decimals, as
CVAT does. Video export writes only keyframes plus interpolated frames, so non-linear
interpolation a CVAT client might do differently is reproduced from keyframes on import.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any
from xml.sax.saxutils import XMLGenerator

from .base import (
    DEFAULT_SUBSET,
    ExportSource,
    FormatError,
    FrameInfo,
    FrameSizeLookup,
    ImportedDataset,
    ImportedFrame,
    LabelDef,
    NameMangler,
    Shape,
    SourceMeta,
    SpooledMember,
    Track,
    defaulted_subset,
    find_files,
    iter_frames_with_tracks,
    make_shape,
    make_tag,
    open_zip_out,
    track_shape_at,
    zip_write_image,
)
from .interpolation import carried_attributes

SHAPE_TAGS = {
    "rectangle": "box",
    "polygon": "polygon",
    "polyline": "polyline",
    "points": "points",
    "ellipse": "ellipse",
    "cuboid": "cuboid",
    "mask": "mask",
    "skeleton": "skeleton",
}
TAG_TO_TYPE = {v: k for k, v in SHAPE_TAGS.items()}
CUBOID_KEYS = [
    f"{c}{n}" for n in (1, 2) for c in ("xtl", "ytl", "xbl", "ybl", "xtr", "ytr", "xbr", "ybr")
]


def _f(v: float) -> str:
    return f"{v:.2f}"


class _Writer:
    """Indented streaming XML writer on top of XMLGenerator."""

    def __init__(self, out: IO[bytes]) -> None:
        self.gen = XMLGenerator(out, "utf-8")
        self.level = 0
        self.gen.startDocument()

    def _indent(self) -> None:
        self.gen.ignorableWhitespace("\n" + "  " * self.level)

    def open(self, name: str, attrs: dict[str, str] | None = None) -> None:
        self._indent()
        self.gen.startElement(name, attrs or {})
        self.level += 1

    def close(self, name: str) -> None:
        self.level -= 1
        self._indent()
        self.gen.endElement(name)

    def leaf(self, name: str, text: str, attrs: dict[str, str] | None = None) -> None:
        self._indent()
        self.gen.startElement(name, attrs or {})
        self.gen.characters(text)
        self.gen.endElement(name)

    def end(self) -> None:
        self.gen.ignorableWhitespace("\n")
        self.gen.endDocument()


def _write_labels(w: _Writer, labels: list[LabelDef]) -> None:
    w.open("labels")

    def one(label: LabelDef, parent: str | None) -> None:
        w.open("label")
        w.leaf("name", label.name)
        w.leaf("color", label.color)
        w.leaf("type", label.type)
        if parent:
            w.leaf("parent", parent)
        if label.svg:
            w.leaf("svg", label.svg)
        w.open("attributes")
        for a in label.attributes:
            w.open("attribute")
            w.leaf("name", a.name)
            w.leaf("mutable", "True" if a.mutable else "False")
            w.leaf("input_type", a.input_type)
            w.leaf("default_value", a.default_value)
            w.leaf("values", "\n".join(a.values))
            w.close("attribute")
        w.close("attributes")
        w.close("label")
        for sub in label.sublabels:
            one(sub, label.name)

    for label in labels:
        one(label, None)
    w.close("labels")


def _task_fields(w: _Writer, m: SourceMeta, subset: str) -> None:
    w.leaf("id", str(m.id))
    w.leaf("name", m.name)
    w.leaf("size", str(m.size))
    w.leaf("mode", m.mode)
    w.leaf("overlap", str(m.overlap))
    w.leaf("bugtracker", "")
    w.leaf("created", m.created)
    w.leaf("updated", m.updated)
    w.leaf("subset", subset)
    w.leaf("start_frame", "0")
    w.leaf("stop_frame", str(max(m.size - 1, 0)))
    w.leaf("frame_filter", "")


def project_subsets(source: ExportSource) -> list[str]:
    """The defaulted subsets of a project's tasks, in task order, each once."""
    raw = list(dict.fromkeys(t.subset for t in source.meta.tasks))
    return list(dict.fromkeys(defaulted_subset(s, raw) for s in raw))


def _write_meta(w: _Writer, source: ExportSource) -> None:
    m = source.meta
    w.open("meta")
    if m.kind == "project":
        # CVAT's ProjectData meta: its tasks (each with its subset) and the subset list;
        # datumaro's reader finds the subsets from <subset>, CVAT's own from <subsets>
        raw = list(dict.fromkeys(t.subset for t in m.tasks))
        w.open("project")
        w.leaf("id", str(m.id))
        w.leaf("name", m.name)
        w.leaf("bugtracker", "")
        w.leaf("created", m.created)
        w.leaf("updated", m.updated)
        w.open("tasks")
        for task in m.tasks:
            w.open("task")
            _task_fields(w, task, defaulted_subset(task.subset, raw))
            w.close("task")
        w.close("tasks")
        w.leaf("subsets", "\n".join(defaulted_subset(s, raw) for s in raw))
        _write_labels(w, source.labels)
        w.close("project")
    else:
        w.open("task")
        _task_fields(w, m, m.subset or DEFAULT_SUBSET)
        _write_labels(w, source.labels)
        w.close("task")
    w.leaf("dumped", datetime.now(UTC).isoformat())
    w.close("meta")


def _geometry(shape: dict[str, Any]) -> dict[str, str]:
    t, p = shape["type"], shape["points"]
    if t == "rectangle":
        d = {"xtl": _f(p[0]), "ytl": _f(p[1]), "xbr": _f(p[2]), "ybr": _f(p[3])}
    elif t == "ellipse":
        d = {"cx": _f(p[0]), "cy": _f(p[1]), "rx": _f(p[2] - p[0]), "ry": _f(p[1] - p[3])}
    elif t == "cuboid":
        return {k: _f(v) for k, v in zip(CUBOID_KEYS, p, strict=False)}
    elif t == "mask":
        rle = ", ".join(str(int(v)) for v in p[:-4])
        x1, y1, x2, y2 = (int(v) for v in p[-4:])
        return {
            "rle": rle,
            "left": str(x1),
            "top": str(y1),
            "width": str(x2 - x1 + 1),
            "height": str(y2 - y1 + 1),
        }
    elif t == "skeleton":
        return {}
    else:
        return {
            "points": ";".join(f"{_f(x)},{_f(y)}" for x, y in zip(p[0::2], p[1::2], strict=False))
        }
    if shape.get("rotation"):
        d["rotation"] = _f(shape["rotation"])
    return d


def _write_attrs(w: _Writer, attrs: list[dict[str, str]]) -> None:
    for a in attrs:
        w.leaf("attribute", a["value"], {"name": a["name"]})


def _write_image_shape(w: _Writer, shape: Shape, element: bool = False) -> None:
    d = {"label": shape["label"], "source": shape.get("source") or "manual"}
    if element:
        d["outside"] = str(int(bool(shape.get("outside"))))
    if shape["type"] != "skeleton":
        d["occluded"] = str(int(bool(shape.get("occluded"))))
    d.update(_geometry(shape))
    if not element:
        d["z_order"] = str(int(shape.get("z_order") or 0))
    if shape.get("group"):
        d["group_id"] = str(shape["group"])
    tag = SHAPE_TAGS[shape["type"]]
    w.open(tag, d)
    for el in shape.get("elements") or ():
        _write_image_shape(w, el, element=True)
    _write_attrs(w, shape.get("attributes") or [])
    w.close(tag)


def _write_image_tag(
    w: _Writer, tag: dict[str, Any], frame: int | None = None, subset: str | None = None
) -> None:
    d = {}
    if frame is not None:
        d["frame"] = str(frame)
    d.update({"label": tag["label"], "source": tag.get("source") or "manual"})
    if subset is not None:
        # CVAT's project reader takes the subset of every element it opens, so a <tag>
        # without one moves the rest of its <image> to no subset (CVAT's own exports lose
        # the image's shapes that way); repeating the image's subset keeps them together
        d["subset"] = subset
    if tag.get("group"):
        d["group_id"] = str(tag["group"])
    w.open("tag", d)
    _write_attrs(w, tag.get("attributes") or [])
    w.close("tag")


class ProjectFrames:
    """Where a project export puts each frame, as CVAT does: ``images/<subset>/<name>``.

    The subset is the task's (defaulted) one; repeated names within a subset are mangled.
    Task exports keep ``images/<name>``.
    """

    def __init__(self, source: ExportSource) -> None:
        self.project = source.meta.kind == "project"
        raw = list(dict.fromkeys(t.subset for t in source.meta.tasks))
        self.raw = raw
        self.mangle = NameMangler()

    def subset(self, info: FrameInfo) -> str:
        return defaulted_subset(info.subset, self.raw)

    def place(self, info: FrameInfo) -> tuple[str, str]:
        """(name written in the annotations, path of the image in the archive)."""
        if not self.project:
            return info.name, f"images/{info.name}"
        subset = self.subset(info)
        name = self.mangle(info.name, subset)
        return name, f"images/{subset}/{name}"


def export_images(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    """Write "CVAT for images 1.1": annotations.xml plus images/ when asked."""
    xml = SpooledMember()
    places = ProjectFrames(source)
    with open_zip_out(out) as zf:
        w = _Writer(xml.file)
        w.gen.startElement("annotations", {})
        w.level = 1
        w.leaf("version", "1.1")
        _write_meta(w, source)
        for info, tags, shapes in iter_frames_with_tracks(source):
            name, arcname = places.place(info)
            attrs = {"id": str(info.frame), "name": name}
            if places.project:
                attrs["subset"] = places.subset(info)
                if info.task_id is not None:
                    attrs["task_id"] = str(info.task_id)
            attrs.update({"width": str(info.width), "height": str(info.height)})
            w.open("image", attrs)
            for shape in shapes:
                _write_image_shape(w, shape)
            for tag in tags:
                _write_image_tag(w, tag, subset=attrs.get("subset"))
            w.close("image")
            if save_images:
                zip_write_image(zf, arcname, info)
        w.close("annotations")
        w.end()
        xml.write_to(zf, "annotations.xml")


def _write_tracked(
    w: _Writer, shape: Shape, keyframe: bool, element_label: str | None = None
) -> None:
    d: dict[str, str] = {}
    if element_label is None:
        d["frame"] = str(shape["frame"])
    else:
        d["label"] = element_label
    d["keyframe"] = str(int(keyframe))
    if shape["type"] != "skeleton":
        d["outside"] = str(int(bool(shape.get("outside"))))
        d["occluded"] = str(int(bool(shape.get("occluded"))))
    d.update(_geometry(shape))
    if element_label is None:
        d["z_order"] = str(int(shape.get("z_order") or 0))
    tag = SHAPE_TAGS[shape["type"]]
    w.open(tag, d)
    for el in shape.get("elements") or ():
        _write_tracked(w, el, keyframe, element_label=el["label"])
    _write_attrs(w, shape.get("attributes") or [])
    w.close(tag)


def _write_track(
    w: _Writer, track_id: int, track: Track, stop_frame: int, places: ProjectFrames | None = None
) -> None:
    d = {"id": str(track_id), "label": track["label"], "source": track.get("source") or "manual"}
    if places is not None and places.project and track.get("task_id") is not None:
        # CVAT's project dump says which task (and subset) a track belongs to
        d["task_id"] = str(track["task_id"])
        d["subset"] = defaulted_subset(track.get("subset") or "", places.raw)
    if track.get("group"):
        d["group_id"] = str(track["group"])
    w.open("track", d)
    keyframes = {s["frame"]: s for s in track.get("shapes") or ()}
    for sub in track.get("elements") or ():
        for s in sub.get("shapes") or ():
            keyframes.setdefault(s["frame"], s)
    if keyframes:
        frames = sorted(keyframes)
        last = keyframes[frames[-1]]
        end = frames[-1] if last.get("outside") else max(stop_frame, frames[-1])
        kf = set(frames)
        for frame in range(frames[0], end + 1):
            shape = track_shape_at(track, frame)
            if shape is None:
                if frame not in kf:
                    continue  # hidden between an "outside" keyframe and the next one
                shape = _outside_shape(track, keyframes[frame], frame)
            _write_tracked(w, shape, frame in kf)
    w.close("track")


def _outside_shape(track: Track, tracked: dict[str, Any], frame: int) -> Shape:
    shape = make_shape(
        tracked.get("type", "rectangle"),
        track["label"],
        frame,
        tracked.get("points", ()),
        # as on any other frame: the track's attributes, then those carried up to here
        attributes={
            **{a["name"]: a["value"] for a in track.get("attributes") or ()},
            **{a["name"]: a["value"] for a in carried_attributes(track.get("shapes") or [], frame)},
        },
        outside=True,
        occluded=bool(tracked.get("occluded")),
        z_order=int(tracked.get("z_order") or 0),
        rotation=float(tracked.get("rotation") or 0),
    )
    if track.get("elements"):
        shape["type"] = "skeleton"
        shape["points"] = []
        shape["elements"] = []
        for sub in track["elements"]:
            subs = [s for s in sub.get("shapes") or () if s["frame"] <= frame] or sub["shapes"]
            el = _outside_shape(sub, subs[-1], frame)
            shape["elements"].append(el)
    return shape


def export_video(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    """Write "CVAT for video 1.1": every annotation as a <track>; shapes become 1-frame tracks."""
    xml = SpooledMember()
    stop = max(source.meta.size - 1, 0)
    places = ProjectFrames(source)
    with open_zip_out(out) as zf:
        w = _Writer(xml.file)
        w.gen.startElement("annotations", {})
        w.level = 1
        w.leaf("version", "1.1")
        _write_meta(w, source)
        track_id = 0
        for track in source.tracks():
            _write_track(w, track_id, track, stop, places)
            track_id += 1
        pending_tags: list[tuple[FrameInfo, str, list[dict[str, Any]]]] = []
        for info, tags, shapes in source.frames():
            for shape in shapes:
                as_track = _shape_as_track(shape, info.frame, stop)
                as_track.update(task_id=info.task_id, subset=info.subset)
                _write_track(w, track_id, as_track, stop, places)
                track_id += 1
            name, arcname = places.place(info)
            if tags:
                pending_tags.append((info, name, tags))
            if save_images:
                zip_write_image(zf, arcname, info)
        # CVAT's video dump has no tags, and its readers fail on a <tag> outside an <image>;
        # inside one (as in CVAT for images) every CVAT reader takes them, and so do we
        for info, name, tags in pending_tags:
            attrs = {"id": str(info.frame), "name": name}
            if places.project:
                attrs["subset"] = places.subset(info)
                if info.task_id is not None:
                    attrs["task_id"] = str(info.task_id)
            attrs.update({"width": str(info.width), "height": str(info.height)})
            w.open("image", attrs)
            for tag in tags:
                _write_image_tag(w, tag, subset=attrs.get("subset"))
            w.close("image")
        w.close("annotations")
        w.end()
        xml.write_to(zf, "annotations.xml")


def _shape_as_track(shape: Shape, frame: int, stop: int) -> Track:
    def tracked(s: Shape, f: int, outside: bool) -> dict[str, Any]:
        return {
            "frame": f,
            "type": s["type"],
            "points": s["points"],
            "occluded": s.get("occluded", False),
            "outside": outside,
            "z_order": s.get("z_order", 0),
            "rotation": s.get("rotation", 0.0),
            "attributes": s.get("attributes") or [],
        }

    def shapes_for(s: Shape) -> list[dict[str, Any]]:
        out = [tracked(s, frame, bool(s.get("outside")))]
        if frame + 1 <= stop:
            out.append(tracked(s, frame + 1, True))
        return out

    return {
        "label": shape["label"],
        "frame": frame,
        "group": shape.get("group", 0),
        "source": shape.get("source", "manual"),
        "attributes": [],
        "shapes": shapes_for(shape),
        "elements": [
            {
                "label": el["label"],
                "frame": frame,
                "group": 0,
                "source": el.get("source", "manual"),
                "attributes": [],
                "shapes": shapes_for(el),
            }
            for el in shape.get("elements") or ()
        ],
    }


# ---------------------------------------------------------------- import


def _num(el: ET.Element, key: str, path: Path) -> float:
    try:
        return float(el.attrib[key])
    except (KeyError, ValueError) as e:
        raise FormatError(f"{path.name}: <{el.tag}> has no valid '{key}' attribute") from e


def _flag(el: ET.Element, key: str) -> bool:
    return el.get(key, "0").strip().lower() in ("1", "true")


def _parse_points(el: ET.Element, path: Path) -> list[float]:
    t = el.tag
    if t == "box":
        return [_num(el, k, path) for k in ("xtl", "ytl", "xbr", "ybr")]
    if t == "ellipse":
        cx, cy, rx, ry = (_num(el, k, path) for k in ("cx", "cy", "rx", "ry"))
        return [cx, cy, cx + rx, cy - ry]
    if t == "cuboid":
        return [_num(el, k, path) for k in CUBOID_KEYS]
    if t == "mask":
        try:
            rle = [float(v) for v in el.get("rle", "").split(",") if v.strip()]
        except ValueError as e:
            raise FormatError(f"{path.name}: <mask> has a malformed 'rle'") from e
        left, top, width, height = (_num(el, k, path) for k in ("left", "top", "width", "height"))
        return rle + [left, top, left + width - 1, top + height - 1]
    if t == "skeleton":
        return []
    try:
        return [float(v) for pair in el.get("points", "").split(";") for v in pair.split(",")]
    except ValueError as e:
        raise FormatError(f"{path.name}: <{t}> has malformed 'points'") from e


def _attrs(el: ET.Element) -> list[dict[str, str]]:
    return [{"name": a.get("name", ""), "value": a.text or ""} for a in el if a.tag == "attribute"]


def _parse_shape(el: ET.Element, frame: int, path: Path, label: str | None = None) -> Shape:
    shape = make_shape(
        TAG_TO_TYPE[el.tag],
        label if label is not None else el.get("label", ""),
        frame,
        _parse_points(el, path),
        attributes=_attrs(el),
        occluded=_flag(el, "occluded"),
        outside=_flag(el, "outside"),
        z_order=int(float(el.get("z_order", "0"))),
        rotation=float(el.get("rotation", "0")),
        group=int(el.get("group_id", "0") or 0),
        source=el.get("source", "file") or "file",
    )
    if el.tag == "skeleton":
        shape["elements"] = [
            _parse_shape(child, frame, path) for child in el if child.tag == "points"
        ]
    return shape


def _iterparse(path: Path) -> Iterator[tuple[str, ET.Element]]:
    try:
        yield from ET.iterparse(path, events=("start", "end"))
    except ET.ParseError as e:
        raise FormatError(f"{path.name}: malformed XML ({e})") from e


class CvatXmlDataset(ImportedDataset):
    def __init__(self, files: list[Path]) -> None:
        super().__init__()
        if not files:
            raise FormatError("no CVAT annotations .xml file found")
        self.files = files
        for f in files:
            self._read_meta(f)

    def _read_meta(self, path: Path) -> None:
        stack: list[str] = []
        for event, el in _iterparse(path):
            if event == "start":
                if not stack and el.tag != "annotations":
                    raise FormatError(f"{path.name}: root element is <{el.tag}>, not <annotations>")
                stack.append(el.tag)
                if stack == ["annotations", "image"] or stack == ["annotations", "track"]:
                    return
                continue
            stack.pop()
            if el.tag == "label" and stack[-1:] == ["labels"]:
                self._add_label(el)
                el.clear()
            elif el.tag == "meta":
                return

    def _add_label(self, el: ET.Element) -> None:
        from .base import AttributeDef

        name = el.findtext("name") or ""
        label = LabelDef(
            name=name,
            type=el.findtext("type") or "any",
            color=el.findtext("color") or "",
            svg=el.findtext("svg") or "",
        )
        for a in el.iterfind("attributes/attribute"):
            values = a.findtext("values") or ""
            label.attributes.append(
                AttributeDef(
                    name=a.findtext("name") or "",
                    input_type=a.findtext("input_type") or "text",
                    mutable=(a.findtext("mutable") or "").lower() == "true",
                    values=[v for v in values.split("\n")] if values else [],
                    default_value=a.findtext("default_value") or "",
                )
            )
        parent = el.findtext("parent")
        if parent:
            if parent in self.labels:
                self.labels[parent].sublabels.append(label)
        else:
            self.labels.setdefault(name, label)

    def frames(self) -> Iterator[ImportedFrame]:
        for path in self.files:
            yield from self._frames(path)

    def _frames(self, path: Path) -> Iterator[ImportedFrame]:
        depth = 0
        video_tags: dict[int, list[dict[str, Any]]] = {}
        for event, el in _iterparse(path):
            if event == "start":
                depth += 1
                continue
            depth -= 1
            if depth != 1:
                continue
            if el.tag == "image":
                yield self._image(el, path)
            elif el.tag == "tag":
                frame = int(el.get("frame", "0"))
                tag = make_tag(
                    el.get("label", ""),
                    frame,
                    _attrs(el),
                    group=int(el.get("group_id", "0") or 0),
                    source=el.get("source", "file"),
                )
                self.see_label(tag["label"], "tag", [a["name"] for a in tag["attributes"]])
                video_tags.setdefault(frame, []).append(tag)
            el.clear()
        for frame in sorted(video_tags):
            yield ImportedFrame(name="", frame=frame, tags=video_tags[frame])

    def _image(self, el: ET.Element, path: Path) -> ImportedFrame:
        try:
            frame = int(el.get("id", ""))
        except ValueError as e:
            raise FormatError(f"{path.name}: <image> without a numeric 'id'") from e
        item = ImportedFrame(
            name=el.get("name", ""),
            frame=frame,
            width=int(el.get("width", "0")) or None,
            height=int(el.get("height", "0")) or None,
            subset=el.get("subset", ""),
            task_id=int(el.get("task_id", "")) if el.get("task_id", "").isdecimal() else None,
        )
        for child in el:
            if child.tag == "tag":
                tag = make_tag(
                    child.get("label", ""),
                    frame,
                    _attrs(child),
                    group=int(child.get("group_id", "0") or 0),
                    source=child.get("source", "file"),
                )
                self.see_label(tag["label"], "tag", [a["name"] for a in tag["attributes"]])
                item.tags.append(tag)
            elif child.tag in TAG_TO_TYPE:
                shape = _parse_shape(child, frame, path)
                self.see_shape(shape)
                item.shapes.append(shape)
        return item

    def tracks(self) -> Iterator[Track]:
        for path in self.files:
            depth = 0
            for event, el in _iterparse(path):
                if event == "start":
                    depth += 1
                    continue
                depth -= 1
                if depth == 1 and el.tag == "track":
                    yield self._track(el, path)
                    el.clear()
                elif depth == 1:
                    el.clear()

    def _track(self, el: ET.Element, path: Path) -> Track:
        label = el.get("label", "")
        track: Track = {
            "label": label,
            "frame": 0,
            "group": int(el.get("group_id", "0") or 0),
            "source": el.get("source", "file"),
            "attributes": [],
            "shapes": [],
            "elements": [],
        }
        if el.get("task_id", "").isdecimal():
            track["task_id"] = int(el.get("task_id", ""))  # project exports: the track's task
        elements: dict[str, Track] = {}
        for child in el:
            if child.tag not in TAG_TO_TYPE:
                continue
            frame = int(child.get("frame", "0"))
            if child.get("keyframe", "1") not in ("1", "true", "True"):
                continue  # interpolated frames are re-derived from keyframes
            shape = _parse_shape(child, frame, path, label=label)
            self.see_shape(shape)
            track["shapes"].append(_tracked(shape))
            for sub in shape.get("elements") or ():
                et = elements.setdefault(
                    sub["label"],
                    {
                        "label": sub["label"],
                        "frame": frame,
                        "group": 0,
                        "source": track["source"],
                        "attributes": [],
                        "shapes": [],
                    },
                )
                et["shapes"].append(_tracked(sub))
        track["shapes"].sort(key=lambda s: s["frame"])
        track["frame"] = track["shapes"][0]["frame"] if track["shapes"] else 0
        track["elements"] = list(elements.values())
        if not track["shapes"]:
            raise FormatError(f"{path.name}: track {el.get('id')} has no keyframes")
        return track


def _tracked(shape: Shape) -> dict[str, Any]:
    return {
        "frame": shape["frame"],
        "type": shape["type"],
        "points": shape["points"],
        "outside": shape["outside"],
        "occluded": shape["occluded"],
        "keyframe": True,
        "z_order": shape["z_order"],
        "rotation": shape["rotation"],
        "attributes": shape["attributes"],
    }


def import_cvat(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    """Read "CVAT 1.1" from an annotations .xml file or an extracted export directory."""
    files = find_files(path, "*.xml")
    return CvatXmlDataset(files)
