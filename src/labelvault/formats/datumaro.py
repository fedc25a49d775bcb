"""Datumaro 1.0 JSON format: ``annotations/<subset>.json`` and ``images/<subset>/<name>``.

Expresses boxes (with rotation as an attribute), polygons, polylines, points, ellipses,
2D cuboids, masks (compressed COCO RLE), tags, skeletons (CVAT's ``skeleton`` type with
``elements``, which upstream datumaro readers do not know), attributes, groups, z_order
and occlusion. Tracks are written per frame with ``track_id``/``keyframe`` attributes and
rebuilt on import by CVAT's rules (``track_ids``). Cannot express: shape ``source``, label
colours and attribute specs (only attribute names are kept in the label categories).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from . import masks
from .base import (
    ExportSource,
    Format,
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
    make_tag,
    open_zip_out,
    strip_ext,
    zip_write_image,
)
from .track_ids import mark_track_part

DM_TYPES = {
    "rectangle": "bbox",
    "polygon": "polygon",
    "polyline": "polyline",
    "points": "points",
    "ellipse": "ellipse",
    "cuboid": "cuboid_2d",
    "mask": "mask",
    "skeleton": "skeleton",
}
FROM_DM = {v: k for k, v in DM_TYPES.items()}


def _flat_labels(labels: list[LabelDef]) -> list[tuple[LabelDef, str]]:
    """Labels with their parent name: skeleton sublabels follow their skeleton."""
    out = []
    for lb in labels:
        out.append((lb, ""))
        out += [(sub, lb.name) for sub in lb.sublabels]
    return out


def export(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    flat = _flat_labels(source.labels)
    label_ids = {(parent, lb.name): i for i, (lb, parent) in enumerate(flat)}
    categories = {
        "label": {
            "labels": [
                {"name": lb.name, "parent": parent, "attributes": [a.name for a in lb.attributes]}
                for lb, parent in flat
            ],
            "label_groups": [],
            "attributes": ["occluded"],
        },
        "points": {
            "items": [
                {
                    "label_id": label_ids[("", lb.name)],
                    "labels": [s.name for s in lb.sublabels],
                    "joints": [],
                    "positions": [],
                }
                for lb in source.labels
                if lb.sublabels
            ]
        },
    }
    writers: dict[str, tuple[SpooledMember, list[int]]] = {}
    with open_zip_out(out) as zf:
        for info, tags, shapes in iter_frames_with_tracks(source):
            subset = info.subset or "default"
            member, count = writers.setdefault(subset, (SpooledMember(), [0]))
            anns: list[dict[str, Any]] = []
            for tag in tags:
                anns.append(
                    {
                        "id": len(anns),
                        "type": "label",
                        "attributes": attr_dict(tag),
                        "group": tag.get("group") or 0,
                        "label_id": label_ids[("", tag["label"])],
                    }
                )
            for shape in shapes:
                anns.append(_ann(shape, len(anns), label_ids, info.width, info.height, ""))
            item = {
                "id": strip_ext(info.name),
                "annotations": anns,
                "attr": {"frame": info.frame},
                "image": {"path": info.name, "size": [info.height, info.width]},
            }
            member.file.write((b",\n" if count[0] else b"") + json.dumps(item).encode())
            count[0] += 1
            if save_images:
                zip_write_image(zf, f"images/{subset}/{info.name}", info)
        if not writers:
            writers["default"] = (SpooledMember(), [0])
        for subset, (member, _count) in writers.items():
            doc = SpooledMember()
            head = {"dm_format_version": "1.0", "media_type": 2, "infos": {}}
            head["categories"] = categories
            doc.file.write(json.dumps(head)[:-1].encode() + b', "items": [\n')
            member.file.seek(0)
            while chunk := member.file.read(1 << 20):
                doc.file.write(chunk)
            member.file.close()
            doc.file.write(b"\n]}\n")
            doc.write_to(zf, f"annotations/{subset}.json")


def _ann(
    shape: Shape,
    ann_id: int,
    label_ids: dict[tuple[str, str], int],
    width: int,
    height: int,
    parent: str,
) -> dict[str, Any]:
    t = shape["type"]
    attrs: dict[str, Any] = {"occluded": bool(shape.get("occluded"))}
    if shape.get("rotation"):
        attrs["rotation"] = float(shape["rotation"])
    if "track_id" in shape:
        attrs["track_id"] = shape["track_id"]
        attrs["keyframe"] = bool(shape.get("keyframe", True))
    if parent:
        attrs["outside"] = bool(shape.get("outside"))
    attrs.update(attr_dict(shape))
    ann: dict[str, Any] = {
        "id": ann_id,
        "type": DM_TYPES[t],
        "attributes": attrs,
        "group": shape.get("group") or 0,
        "label_id": label_ids[(parent, shape["label"])],
        "z_order": shape.get("z_order") or 0,
    }
    pts = shape["points"]
    if t == "rectangle":
        x1, y1, x2, y2 = pts[:4]
        ann["bbox"] = [x1, y1, x2 - x1, y2 - y1]
    elif t == "mask":
        rle = masks.bitmap_to_coco_rle(masks.decode_cvat_mask(pts, width, height))
        ann["rle"] = {"counts": masks.encode_coco_string(rle["counts"]), "size": rle["size"]}
    elif t == "ellipse":
        cx, cy, x2, y2 = pts[:4]
        rx, ry = x2 - cx, cy - y2
        ann["points"] = [cx - rx, cy - ry, cx + rx, cy + ry]  # datumaro: bounding box corners
    elif t == "skeleton":
        ann["elements"] = [
            _ann(el, i, label_ids, width, height, shape["label"])
            for i, el in enumerate(shape.get("elements") or ())
        ]
    else:
        ann["points"] = pts
        if t == "points":
            ann["visibility"] = [1 if shape.get("occluded") else 2] * (len(pts) // 2)
    return ann


# ---------------------------------------------------------------- import

RESERVED = ("occluded", "rotation", "track_id", "keyframe", "outside")


class DatumaroDataset(ImportedDataset):
    def __init__(self, files: list[Path]) -> None:
        super().__init__()
        self._names: list[tuple[str, str]] = []
        if not files:
            raise FormatError("no Datumaro annotations/*.json file found")
        self.files = files

    def frames(self) -> Iterator[ImportedFrame]:
        for path in self.files:
            doc = load_json(path)
            if not isinstance(doc, dict) or not isinstance(doc.get("items"), list):
                raise FormatError(f"{path.name}: not a Datumaro file (no 'items' list)")
            labels = (doc.get("categories") or {}).get("label", {}).get("labels", [])
            names = [(lb.get("name", ""), lb.get("parent", "")) for lb in labels]
            self._names = names
            for name, parent in names:
                if not parent:
                    self.labels.setdefault(name, LabelDef(name=name))
            for name, parent in names:
                if parent and parent in self.labels:
                    self.labels[parent].type = "skeleton"
                    if name not in {s.name for s in self.labels[parent].sublabels}:
                        self.labels[parent].sublabels.append(LabelDef(name, "points"))
            subset = "" if path.stem == "default" else path.stem
            for item in doc["items"]:
                yield self._item(item, names, subset, path)

    def _item(
        self, item: dict[str, Any], names: list[tuple[str, str]], subset: str, path: Path
    ) -> ImportedFrame:
        image = item.get("image") or {}
        size = image.get("size") or [None, None]
        frame = ImportedFrame(
            name=image.get("path") or str(item.get("id", "")),
            frame=(item.get("attr") or {}).get("frame"),
            height=size[0],
            width=size[1],
            subset=subset,
        )
        for ann in item.get("annotations") or ():
            try:
                label = names[int(ann["label_id"])][0]
            except (KeyError, IndexError, TypeError, ValueError) as e:
                raise FormatError(f"{path.name}: item {item.get('id')!r}: bad label_id") from e
            if ann.get("type") == "label":
                attrs = {k: v for k, v in (ann.get("attributes") or {}).items()}
                tag = make_tag(label, 0, attrs, group=ann.get("group") or 0)
                self.see_label(label, "tag", attrs)
                frame.tags.append(tag)
                continue
            shape = self._shape(ann, label, frame, path)
            if shape is not None:
                raw = ann.get("attributes") or {}
                mark_track_part(shape, raw if isinstance(raw, dict) else {})
                self.see_shape(shape)
                frame.shapes.append(shape)
        return frame

    def _shape(
        self, ann: dict[str, Any], label: str, frame: ImportedFrame, path: Path
    ) -> Shape | None:
        t = FROM_DM.get(ann.get("type", ""))
        if t is None:
            return None  # captions, 3D cuboids...: nothing LabelVault can hold
        raw = ann.get("attributes") or {}
        kw: dict[str, Any] = {
            "attributes": {k: v for k, v in raw.items() if k not in RESERVED},
            "occluded": bool(raw.get("occluded", False)),
            "outside": bool(raw.get("outside", False)),
            "rotation": float(raw.get("rotation", 0) or 0),
            "z_order": int(ann.get("z_order") or 0),
            "group": int(ann.get("group") or 0),
        }
        if t == "rectangle":
            x, y, w, h = ann["bbox"]
            return make_shape(t, label, 0, [x, y, x + w, y + h], **kw)
        if t == "mask":
            bitmap = masks.coco_rle_to_bitmap(ann["rle"])
            return make_shape(t, label, 0, masks.encode_cvat_mask(bitmap), **kw)
        if t == "ellipse":
            x1, y1, x2, y2 = ann["points"][:4]
            cx, cy = (x1 + x2) / 2, (y1 + y2) / 2
            return make_shape(t, label, 0, [cx, cy, x2, y1], **kw)
        if t == "skeleton":
            elements = []
            for el in ann.get("elements") or ():
                try:
                    sub = self._names[int(el["label_id"])][0]
                except (KeyError, IndexError, TypeError, ValueError) as e:
                    raise FormatError(f"{path.name}: skeleton element with a bad label_id") from e
                shape = self._shape(el, sub, frame, path)
                if shape is not None:
                    elements.append(shape)
            return make_shape(t, label, 0, [], elements=elements, **kw)
        return make_shape(t, label, 0, ann.get("points") or [], **kw)


def import_(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    files = [path] if path.is_file() else find_files(path, "*.json")
    return DatumaroDataset(files)


FORMATS = [Format("Datumaro", "1.0", "ZIP", "JSON, ZIP", export, import_)]
