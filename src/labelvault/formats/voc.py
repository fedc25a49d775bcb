"""PASCAL VOC 1.1: Annotations/<name>.xml, ImageSets/Main/*.txt, JPEGImages/, labelmap.txt.

Expresses axis-aligned boxes with attributes (as CVAT writes them in <attributes>),
occlusion (<occluded>) and, through ImageSets/Main/<label>_<subset>.txt, frame tags.
Cannot express: polygons, polylines, points, ellipses, cuboids, masks, skeletons (use
"Segmentation mask 1.1" for masks); rotated boxes become their bounds; z_order, group,
source, tracks (exported per frame).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from ._xmlsafe import number, parse_xml, text
from .base import (
    ExportSource,
    Format,
    FormatError,
    FrameSizeLookup,
    ImportedDataset,
    ImportedFrame,
    iter_frames_with_tracks,
    make_shape,
    make_tag,
    open_zip_out,
    shape_bbox,
    strip_ext,
    zip_write_image,
    zip_write_text,
)


def labelmap_text(names: list[str], colors: list[tuple[int, int, int]]) -> str:
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    lines += [f"{n}:{r},{g},{b}::" for n, (r, g, b) in zip(names, colors, strict=True)]
    return "\n".join(lines) + "\n"


def _sub(parent: ET.Element, tag: str, value: str = "") -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = value
    return el


def export(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    names = [lb.name for lb in source.labels]
    sets: dict[str, list[str]] = {}
    tagged: dict[tuple[str, str], set[str]] = {}
    with open_zip_out(out) as zf:
        for info, tags, shapes in iter_frames_with_tracks(source):
            subset = info.subset or "default"
            stem = strip_ext(info.name)
            sets.setdefault(subset, []).append(stem)
            for tag in tags:
                tagged.setdefault((tag["label"], subset), set()).add(stem)
            root = ET.Element("annotation")
            _sub(root, "folder")
            _sub(root, "filename", info.name)
            _sub(_sub(root, "source"), "database", "Unknown")
            size = _sub(root, "size")
            _sub(size, "width", str(info.width))
            _sub(size, "height", str(info.height))
            _sub(size, "depth", "3")
            _sub(root, "segmented", "0")
            for shape in shapes:
                if shape["type"] != "rectangle":
                    continue
                obj = _sub(root, "object")
                _sub(obj, "name", shape["label"])
                _sub(obj, "pose", "Unspecified")
                _sub(obj, "truncated", "0")
                _sub(obj, "difficult", "0")
                _sub(obj, "occluded", "1" if shape.get("occluded") else "0")
                box = _sub(obj, "bndbox")
                for key, value in zip(
                    ("xmin", "ymin", "xmax", "ymax"), shape_bbox(shape), strict=True
                ):
                    _sub(box, key, f"{value:g}")
                attrs = shape.get("attributes") or []
                if attrs:
                    holder = _sub(obj, "attributes")
                    for a in attrs:
                        item = _sub(holder, "attribute")
                        _sub(item, "name", a["name"])
                        _sub(item, "value", a["value"])
            ET.indent(root)
            zip_write_text(zf, f"Annotations/{stem}.xml", ET.tostring(root, encoding="unicode"))
            if save_images:
                zip_write_image(zf, f"JPEGImages/{info.name}", info)
        for subset, stems in sets.items():
            zip_write_text(zf, f"ImageSets/Main/{subset}.txt", "".join(f"{s}\n" for s in stems))
            for name in names:
                lines = [f"{s} {1 if s in tagged.get((name, subset), ()) else -1}\n" for s in stems]
                zip_write_text(zf, f"ImageSets/Main/{name}_{subset}.txt", "".join(lines))
        colors = [_color(i) for i in range(1, len(names) + 1)]
        zip_write_text(zf, "labelmap.txt", labelmap_text(names, colors))


def _color(index: int) -> tuple[int, int, int]:
    """VOC's palette: bits of the index spread over the high bits of r, g, b."""
    r = g = b = 0
    for shift in range(8):
        r |= ((index >> 0) & 1) << (7 - shift)
        g |= ((index >> 1) & 1) << (7 - shift)
        b |= ((index >> 2) & 1) << (7 - shift)
        index >>= 3
    return r, g, b


def read_labelmap(path: Path) -> list[str]:
    names = []
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            name = line.split(":")[0]
            if name != "background":
                names.append(name)
    return names


class VocDataset(ImportedDataset):
    def __init__(self, root: Path) -> None:
        super().__init__()
        found = sorted(root.rglob("Annotations")) if root.is_dir() else []
        dirs = [d for d in found if d.is_dir()]
        if not dirs:
            raise FormatError("no Annotations/ folder found: not a PASCAL VOC archive")
        self.root = dirs[0].parent
        labelmap = self.root / "labelmap.txt"
        if labelmap.is_file():
            for name in read_labelmap(labelmap):
                self.see_label(name, "rectangle")
        self.subsets: dict[str, str] = {}
        main = self.root / "ImageSets" / "Main"
        self.tags: dict[str, list[str]] = {}
        if main.is_dir():
            for path in sorted(main.glob("*.txt")):
                for line in path.read_text("utf-8").splitlines():
                    parts = line.split()
                    if not parts:
                        continue
                    if len(parts) == 1:
                        self.subsets[parts[0]] = path.stem
                    elif parts[1] == "1" and "_" in path.stem:
                        self.tags.setdefault(parts[0], []).append(path.stem.rsplit("_", 1)[0])

    def frames(self) -> Iterator[ImportedFrame]:
        for xml in sorted((self.root / "Annotations").rglob("*.xml")):
            root = parse_xml(xml)
            stem = xml.relative_to(self.root / "Annotations").with_suffix("").as_posix()
            filename = text(root, "filename") or stem
            name = str(PurePosixPath(stem).with_suffix(PurePosixPath(filename).suffix))
            subset = self.subsets.get(stem, "")
            sized = root.find("size/width") is not None
            item = ImportedFrame(
                name=name,
                width=int(number(root, "size/width", xml)) if sized else None,
                height=int(number(root, "size/height", xml)) if sized else None,
                subset="" if subset == "default" else subset,
            )
            for label in self.tags.get(stem, []):
                self.see_label(label, "tag")
                item.tags.append(make_tag(label, 0))
            for obj in root.iterfind("object"):
                label = text(obj, "name")
                box = obj.find("bndbox")
                if not label or box is None:
                    raise FormatError(f"{xml.name}: <object> without <name> or <bndbox>")
                points = [number(box, k, xml) for k in ("xmin", "ymin", "xmax", "ymax")]
                attrs = {
                    text(a, "name"): text(a, "value") for a in obj.iterfind("attributes/attribute")
                }
                shape = make_shape(
                    "rectangle",
                    label,
                    0,
                    points,
                    attributes=attrs,
                    occluded=text(obj, "occluded") == "1",
                )
                self.see_shape(shape)
                item.shapes.append(shape)
            yield item


def import_(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    return VocDataset(path)


FORMATS = [Format("PASCAL VOC", "1.1", "ZIP", "ZIP", export, import_)]
