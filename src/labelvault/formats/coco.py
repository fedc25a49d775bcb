"""COCO: "COCO 1.0" (instances) and "COCO Keypoints 1.0" (skeletons), export and import.

Layout as CVAT/Datumaro write it: ``annotations/instances_<subset>.json`` (or
``person_keypoints_<subset>.json``) and ``images/<subset>/<name>``.

Cannot express: tags, polylines, points, cuboids (dropped); ellipses become polygons;
rotated boxes keep their unrotated bbox plus a ``rotation`` attribute (as CVAT does); tracks
become per-frame shapes; z_order, source and label colours/attribute specs are lost.
Masks are written as uncompressed RLE with ``iscrowd=1``. Keypoints keep skeleton
elements (visibility 0 = outside, 1 = occluded, 2 = visible), not their attributes.
"""

from __future__ import annotations

import json
import math
import re
from collections import defaultdict
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO, Any

from . import jsonstream, masks
from .base import (
    ExportSource,
    FormatError,
    FrameSizeLookup,
    ImportedDataset,
    ImportedFrame,
    LabelDef,
    Shape,
    SpooledMember,
    attr_dict,
    find_files,
    iter_frames_with_tracks,
    load_json,
    make_shape,
    open_zip_out,
    shape_bbox,
    zip_write_image,
)
from .track_ids import mark_track_part

INFO = {
    "contributor": "",
    "date_created": "",
    "description": "",
    "url": "",
    "version": "",
    "year": "",
}


def ellipse_polygon(points: list[float], rotation: float = 0.0, n: int = 32) -> list[float]:
    cx, cy, x2, y2 = points[:4]
    rx, ry = abs(x2 - cx), abs(cy - y2)
    a = math.radians(rotation)
    out: list[float] = []
    for i in range(n):
        t = 2 * math.pi * i / n
        x, y = rx * math.cos(t), ry * math.sin(t)
        out += [cx + x * math.cos(a) - y * math.sin(a), cy + x * math.sin(a) + y * math.cos(a)]
    return out


def skeleton_edges(label: LabelDef) -> list[list[int]]:
    """1-based keypoint index pairs from a CVAT skeleton SVG (edges between element nodes)."""
    node_names: dict[str, str] = {}
    for m in re.finditer(r"<circle\b[^>]*>", label.svg):
        tag = m.group(0)
        node = re.search(r'data-node-id="([^"]+)"', tag)
        name = re.search(r'data-label-name="([^"]+)"', tag)
        if node and name:
            node_names[node.group(1)] = name.group(1)
    order = {sub.name: i + 1 for i, sub in enumerate(label.sublabels)}
    edges = []
    for m in re.finditer(r"<line\b[^>]*>", label.svg):
        tag = m.group(0)
        a = re.search(r'data-node-from="([^"]+)"', tag)
        b = re.search(r'data-node-to="([^"]+)"', tag)
        if a and b:
            ia, ib = (
                order.get(node_names.get(a.group(1), "")),
                order.get(node_names.get(b.group(1), "")),
            )
            if ia and ib:
                edges.append([ia, ib])
    return edges


class _SubsetWriter:
    def __init__(self) -> None:
        self.images = SpooledMember()
        self.anns = SpooledMember()
        self.n_images = 0
        self.n_anns = 0

    def add(self, member: SpooledMember, obj: dict[str, Any], first: bool) -> None:
        member.file.write((b"" if first else b",\n") + json.dumps(obj).encode())


def _export(source: ExportSource, out: IO[bytes], save_images: bool, keypoints: bool) -> None:
    if keypoints:
        labels = [lb for lb in source.labels if lb.type == "skeleton" or lb.sublabels]
    else:
        labels = list(source.labels)
    cat_ids = {lb.name: i + 1 for i, lb in enumerate(labels)}
    categories = []
    for lb in labels:
        cat: dict[str, Any] = {"id": cat_ids[lb.name], "name": lb.name, "supercategory": ""}
        if keypoints:
            cat["keypoints"] = [s.name for s in lb.sublabels]
            cat["skeleton"] = skeleton_edges(lb)
        categories.append(cat)
    label_defs = {lb.name: lb for lb in labels}
    subsets: dict[str, _SubsetWriter] = {}
    ann_id = 0
    prefix = "person_keypoints" if keypoints else "instances"
    with open_zip_out(out) as zf:
        for info, _tags, shapes in iter_frames_with_tracks(source):
            subset = info.subset or "default"
            sw = subsets.setdefault(subset, _SubsetWriter())
            sw.n_images += 1
            image_id = sw.n_images
            sw.add(
                sw.images,
                {
                    "id": image_id,
                    "width": info.width,
                    "height": info.height,
                    "file_name": info.name,
                    "license": 0,
                    "flickr_url": "",
                    "coco_url": "",
                    "date_captured": 0,
                },
                image_id == 1,
            )
            for shape in shapes:
                if shape["label"] not in cat_ids:
                    continue
                if keypoints:
                    ann = _keypoints_ann(shape, label_defs[shape["label"]])
                else:
                    ann = _instance_ann(shape, info.width, info.height)
                if ann is None:
                    continue
                ann_id += 1
                sw.n_anns += 1
                ann = {
                    "id": ann_id,
                    "image_id": image_id,
                    "category_id": cat_ids[shape["label"]],
                } | ann
                sw.add(sw.anns, ann, sw.n_anns == 1)
            if save_images:
                zip_write_image(zf, f"images/{subset}/{info.name}", info)
        if not subsets:
            subsets["default"] = _SubsetWriter()
        for subset, sw in subsets.items():
            head = json.dumps(
                {
                    "licenses": [{"name": "", "id": 0, "url": ""}],
                    "info": INFO,
                    "categories": categories,
                }
            )[:-1]
            joined = SpooledMember()
            joined.file.write(head.encode() + b',\n"images": [\n')
            _append(joined, sw.images)
            joined.file.write(b'\n],\n"annotations": [\n')
            _append(joined, sw.anns)
            joined.file.write(b"\n]}\n")
            joined.write_to(zf, f"annotations/{prefix}_{subset}.json")


def _append(dst: SpooledMember, src: SpooledMember) -> None:
    src.file.seek(0)
    while chunk := src.file.read(1 << 20):
        dst.file.write(chunk)
    src.file.close()


def _common_attrs(shape: Shape) -> dict[str, Any]:
    attrs: dict[str, Any] = {"occluded": bool(shape.get("occluded"))}
    if shape.get("rotation"):
        attrs["rotation"] = float(shape["rotation"])
    if "track_id" in shape:
        attrs["track_id"] = shape["track_id"]
        attrs["keyframe"] = bool(shape.get("keyframe", True))
    attrs.update(attr_dict(shape))
    return attrs


def _instance_ann(shape: Shape, width: int, height: int) -> dict[str, Any] | None:
    t = shape["type"]
    iscrowd = 0
    if t == "rectangle":
        # unrotated box plus a "rotation" attribute, as CVAT/Datumaro write it
        x1, y1, x2, y2 = shape["points"][:4]
        segmentation: Any = []
        area = (x2 - x1) * (y2 - y1)
    elif t in ("polygon", "ellipse"):
        pts = (
            shape["points"]
            if t == "polygon"
            else ellipse_polygon(shape["points"], shape.get("rotation") or 0)
        )
        segmentation = [pts]
        area = masks.polygon_area(pts)
        xs, ys = pts[0::2], pts[1::2]
        x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
    elif t == "mask":
        bitmap = masks.decode_cvat_mask(shape["points"], width, height)
        segmentation = masks.bitmap_to_coco_rle(bitmap)
        area = int(bitmap.sum())
        x1, y1, x2, y2 = masks.box_points_of_bitmap(bitmap)
        iscrowd = 1
    else:
        return None
    return {
        "segmentation": segmentation,
        "area": float(area),
        "bbox": [x1, y1, x2 - x1, y2 - y1],
        "iscrowd": iscrowd,
        "attributes": _common_attrs(shape),
    }


def _keypoints_ann(shape: Shape, label: LabelDef) -> dict[str, Any] | None:
    if shape["type"] != "skeleton":
        return None
    by_name = {el["label"]: el for el in shape.get("elements") or ()}
    kps: list[float] = []
    visible = 0
    for sub in label.sublabels:
        el = by_name.get(sub.name)
        if el is None or el.get("outside") or not el["points"]:
            kps += [0.0, 0.0, 0]
            continue
        v = 1 if el.get("occluded") else 2
        kps += [float(el["points"][0]), float(el["points"][1]), v]
        visible += 1
    x1, y1, x2, y2 = shape_bbox(shape)
    return {
        "segmentation": [],
        "area": float((x2 - x1) * (y2 - y1)),
        "bbox": [x1, y1, x2 - x1, y2 - y1],
        "iscrowd": 0,
        "keypoints": kps,
        "num_keypoints": visible,
        "attributes": _common_attrs(shape),
    }


def export_instances(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    _export(source, out, save_images, keypoints=False)


def export_keypoints(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    _export(source, out, save_images, keypoints=True)


# ---------------------------------------------------------------- import


RESERVED_ATTRS = ("occluded", "rotation", "track_id", "keyframe", "outside", "z_order")


class CocoDataset(ImportedDataset):
    def __init__(self, files: list[Path], keypoints: bool) -> None:
        super().__init__()
        if not files:
            raise FormatError("no COCO annotation .json file found")
        self.files = files
        self.keypoints = keypoints

    def frames(self) -> Iterator[ImportedFrame]:
        for path in self.files:
            yield from self._read(path)

    def _read(self, path: Path) -> Iterator[ImportedFrame]:
        if jsonstream.available() and not jsonstream.maybe_too_deep(path):
            stream = self._stream(path)
            first = next(stream, None)
            if first is not None:
                yield first
                yield from stream
                return
        # No images found by the stream, brackets nested deep, or no ijson: the file is read
        # whole by the standard parser, whose refusals are exact (and recursion-bounded).
        doc = load_json(path)
        if not isinstance(doc, dict) or not isinstance(doc.get("images"), list):
            raise FormatError(f"{path.name}: not a COCO file (no 'images' list)")
        yield from self._read_doc(path, doc)

    def _subset(self, path: Path) -> str:
        m = re.match(r"(?:instances|person_keypoints)_(.+)\.json$", path.name)
        return m.group(1) if m and m.group(1) != "default" else ""

    def _categories(self, path: Path, categories: Iterable[Any]) -> dict[int, dict[str, Any]]:
        cats: dict[int, dict[str, Any]] = {}
        for c in categories:
            try:
                cats[int(c["id"])] = c
            except (KeyError, TypeError, ValueError) as e:
                raise FormatError(f"{path.name}: category without a numeric id") from e
            if "keypoints" in c and c.get("keypoints"):
                self.labels.setdefault(
                    c["name"],
                    LabelDef(
                        name=c["name"],
                        type="skeleton",
                        sublabels=[LabelDef(name=k, type="points") for k in c["keypoints"]],
                    ),
                )
        return cats

    def _stream(self, path: Path) -> Iterator[ImportedFrame]:
        """Three passes over the file (categories, images, annotations), none held whole:
        2 million annotations are read in bounded memory. Annotations are grouped as they
        come (exporters write them by image); an image met again gets another item."""
        subset = self._subset(path)
        cats = self._categories(path, jsonstream.items(path, "categories.item"))
        images: dict[int, tuple[str, Any, Any]] = {}
        for index, img in enumerate(jsonstream.items(path, "images.item")):
            try:
                images[int(img["id"])] = (
                    str(img["file_name"]),
                    img.get("width"),
                    img.get("height"),
                )
            except (KeyError, TypeError, ValueError) as e:
                raise FormatError(f"{path.name}: image #{index} lacks 'id' or 'file_name'") from e
        if not images:
            return
        groups: dict[int, int] = defaultdict(int)
        item: ImportedFrame | None = None
        current: int | None = None
        for ann in jsonstream.items(path, "annotations.item"):
            try:
                image_id = int(ann["image_id"])
            except (KeyError, TypeError, ValueError) as e:
                raise FormatError(f"{path.name}: annotation without a numeric image_id") from e
            if image_id not in images:
                continue
            if image_id != current:
                if item is not None:
                    yield item
                name, width, height = images[image_id]
                item = ImportedFrame(name=name, width=width, height=height, subset=subset)
                current = image_id
            groups[image_id] += 1
            self._add(path, item, ann, cats, groups[image_id])  # type: ignore[arg-type]
        if item is not None:
            yield item
        for image_id, (name, width, height) in images.items():
            if image_id not in groups:
                yield ImportedFrame(name=name, width=width, height=height, subset=subset)

    def _add(
        self,
        path: Path,
        item: ImportedFrame,
        ann: dict[str, Any],
        cats: dict[int, dict[str, Any]],
        group: int,
    ) -> None:
        cat = cats.get(int(ann.get("category_id", -1)))
        if cat is None:
            raise FormatError(f"{path.name}: annotation {ann.get('id')} has an unknown category_id")
        raw_attrs = ann.get("attributes") or {}
        for shape in self._shapes(ann, cat, item, group, path):
            mark_track_part(shape, raw_attrs if isinstance(raw_attrs, dict) else {})
            self.see_shape(shape)
            item.shapes.append(shape)

    def _read_doc(self, path: Path, doc: dict[str, Any]) -> Iterator[ImportedFrame]:
        subset = self._subset(path)
        cats = self._categories(path, doc.get("categories") or ())
        by_image: dict[int, list[dict[str, Any]]] = defaultdict(list)
        for ann in doc.get("annotations") or ():
            try:
                by_image[int(ann["image_id"])].append(ann)
            except (KeyError, TypeError, ValueError) as e:
                raise FormatError(f"{path.name}: annotation without a numeric image_id") from e
        for index, img in enumerate(doc["images"]):
            try:
                image_id = int(img["id"])
                name = str(img["file_name"])
            except (KeyError, TypeError, ValueError) as e:
                raise FormatError(f"{path.name}: image #{index} lacks 'id' or 'file_name'") from e
            item = ImportedFrame(
                name=name,
                width=img.get("width"),
                height=img.get("height"),
                subset=subset,
            )
            for group, ann in enumerate(by_image.pop(image_id, ()), start=1):
                self._add(path, item, ann, cats, group)
            yield item

    def _shapes(
        self,
        ann: dict[str, Any],
        cat: dict[str, Any],
        item: ImportedFrame,
        group: int,
        path: Path,
    ) -> list[Shape]:
        raw_attrs = ann.get("attributes") or {}
        attrs = {k: v for k, v in raw_attrs.items() if k not in RESERVED_ATTRS}
        common = {
            "attributes": attrs,
            "occluded": bool(raw_attrs.get("occluded", False)),
            "rotation": float(raw_attrs.get("rotation", 0.0) or 0.0),
        }
        label = cat["name"]
        if self.keypoints and ann.get("keypoints"):
            kps = ann["keypoints"]
            elements = []
            for i, name in enumerate(cat.get("keypoints") or ()):
                x, y, v = kps[3 * i : 3 * i + 3]
                elements.append(
                    make_shape("points", name, 0, [x, y], outside=v == 0, occluded=v == 1)
                )
            return [make_shape("skeleton", label, 0, [], elements=elements, **common)]
        seg = ann.get("segmentation")
        if isinstance(seg, dict):
            bitmap = masks.coco_rle_to_bitmap(seg)
            return [make_shape("mask", label, 0, masks.encode_cvat_mask(bitmap), **common)]
        if isinstance(seg, list) and seg:
            shapes = [make_shape("polygon", label, 0, poly, **common) for poly in seg if poly]
            if len(shapes) > 1:
                for s in shapes:
                    s["group"] = group  # parts of one COCO object stay together
            return shapes
        bbox = ann.get("bbox")
        if not isinstance(bbox, list) or len(bbox) != 4:
            raise FormatError(f"{path.name}: annotation {ann.get('id')} has no bbox/segmentation")
        x, y, w, h = (float(v) for v in bbox)
        return [make_shape("rectangle", label, 0, [x, y, x + w, y + h], **common)]


def _coco_files(path: Path, keypoints: bool) -> list[Path]:
    if path.is_file():
        return [path]
    files = find_files(path, "*.json")
    prefix = "person_keypoints_" if keypoints else "instances_"
    preferred = [f for f in files if f.name.startswith(prefix)]
    return preferred or files


def import_instances(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    return CocoDataset(_coco_files(path, False), keypoints=False)


def import_keypoints(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    return CocoDataset(_coco_files(path, True), keypoints=True)
