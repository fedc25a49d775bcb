"""LabelMe 3.0 (MIT LabelMe XML): default/<name>.xml next to default/<name>.<ext>.

Expresses boxes (a 4-point polygon with <type>bounding_box</type>), polygons, masks (as
polygons of their regions: holes are lost), attributes ("name=value, ..."), occlusion.
Cannot express: polylines, points, ellipses, cuboids, skeletons, tags, rotation, z_order,
group, source, tracks (exported per frame).
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from . import masks
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
    open_zip_out,
    shape_bbox,
    strip_ext,
    zip_write_image,
    zip_write_text,
)


def _sub(parent: ET.Element, tag: str, value: str = "") -> ET.Element:
    el = ET.SubElement(parent, tag)
    el.text = value
    return el


def _polygons(shape: dict, width: int, height: int) -> list[tuple[str, list[float]]]:
    t = shape["type"]
    if t == "rectangle":
        x1, y1, x2, y2 = shape_bbox(shape)
        return [("bounding_box", [x1, y1, x2, y1, x2, y2, x1, y2])]
    if t == "polygon":
        return [("", shape["points"])]
    if t == "mask":
        bitmap = masks.decode_cvat_mask(shape["points"], width, height)
        return [("", p) for p in masks.bitmap_to_polygons(bitmap)]
    return []


def export(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    with open_zip_out(out) as zf:
        for info, _tags, shapes in iter_frames_with_tracks(source):
            folder = info.subset or "default"
            root = ET.Element("annotation")
            _sub(root, "filename", PurePosixPath(info.name).name)
            _sub(root, "folder", str(PurePosixPath(info.name).parent).strip("."))
            src = _sub(root, "source")
            _sub(src, "sourceImage")
            _sub(src, "sourceAnnotation", "LabelVault")
            size = _sub(root, "imagesize")
            _sub(size, "nrows", str(info.height))
            _sub(size, "ncols", str(info.width))
            obj_id = 0
            for shape in shapes:
                for kind, points in _polygons(shape, info.width, info.height):
                    obj = _sub(root, "object")
                    _sub(obj, "name", shape["label"])
                    _sub(obj, "deleted", "0")
                    _sub(obj, "verified", "0")
                    _sub(obj, "occluded", "yes" if shape.get("occluded") else "no")
                    _sub(obj, "date")
                    _sub(obj, "id", str(obj_id))
                    obj_id += 1
                    parts = _sub(obj, "parts")
                    _sub(parts, "hasparts")
                    _sub(parts, "ispartof")
                    if kind:
                        _sub(obj, "type", kind)
                    poly = _sub(obj, "polygon")
                    for x, y in zip(points[0::2], points[1::2], strict=True):
                        pt = _sub(poly, "pt")
                        _sub(pt, "x", f"{x:g}")
                        _sub(pt, "y", f"{y:g}")
                    _sub(poly, "username")
                    attrs = shape.get("attributes") or []
                    _sub(obj, "attributes", ", ".join(f"{a['name']}={a['value']}" for a in attrs))
            ET.indent(root)
            stem = strip_ext(info.name)
            zip_write_text(zf, f"{folder}/{stem}.xml", ET.tostring(root, encoding="unicode"))
            if save_images:
                zip_write_image(zf, f"{folder}/{info.name}", info)


def _attrs(raw: str) -> dict[str, str]:
    out = {}
    for part in raw.split(","):
        key, sep, value = part.strip().partition("=")
        if key:
            out[key.strip()] = value.strip() if sep else "true"
    return out


class LabelMeDataset(ImportedDataset):
    def __init__(self, root: Path) -> None:
        super().__init__()
        self.files = sorted(root.rglob("*.xml")) if root.is_dir() else [root]
        self.root = root if root.is_dir() else root.parent
        if not self.files:
            raise FormatError("no LabelMe .xml files found")

    def frames(self) -> Iterator[ImportedFrame]:
        for xml in self.files:
            root = parse_xml(xml)
            if root.tag != "annotation":
                raise FormatError(f"{xml.name}: root element is <{root.tag}>, not <annotation>")
            rel = xml.relative_to(self.root)
            subset = rel.parts[0] if len(rel.parts) > 1 else ""
            filename = text(root, "filename") or xml.with_suffix("").name
            folder = text(root, "folder")
            name = f"{folder}/{filename}" if folder else filename
            sized = root.find("imagesize/ncols") is not None
            item = ImportedFrame(
                name=name,
                subset="" if subset == "default" else subset,
                width=int(number(root, "imagesize/ncols", xml)) if sized else None,
                height=int(number(root, "imagesize/nrows", xml)) if sized else None,
            )
            for obj in root.iterfind("object"):
                if text(obj, "deleted") == "1":
                    continue
                label = text(obj, "name")
                points = []
                for pt in obj.iterfind("polygon/pt"):
                    points += [number(pt, "x", xml), number(pt, "y", xml)]
                if not label or len(points) < 6:
                    continue
                kw = {
                    "attributes": _attrs(text(obj, "attributes")),
                    "occluded": text(obj, "occluded") == "yes",
                }
                if text(obj, "type") == "bounding_box":
                    xs, ys = points[0::2], points[1::2]
                    shape = make_shape(
                        "rectangle", label, 0, [min(xs), min(ys), max(xs), max(ys)], **kw
                    )
                else:
                    shape = make_shape("polygon", label, 0, points, **kw)
                self.see_shape(shape)
                item.shapes.append(shape)
            yield item


def import_(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    return LabelMeDataset(path)


FORMATS = [Format("LabelMe", "3.0", "ZIP", "ZIP", export, import_)]
