"""Ultralytics YOLO: Detection, Segmentation, Oriented Bounding Boxes, Pose, Classification.

Layout per docs.ultralytics.com/datasets: ``data.yaml`` (``path``, one key per subset
pointing at ``images/<subset>``, ``names`` as an index→name map, ``kpt_shape`` for pose),
``images/<subset>/<name>`` and ``labels/<subset>/<stem>.txt`` with normalised coordinates.
Classification instead uses ``<subset>/<class>/<image>`` folders (``no_label/`` for untagged
images) and ``<subset>/labels.json``, as CVAT writes it.
The default (unnamed) subset is written as ``train``.

Cannot express: attributes, occlusion (except pose visibility), z_order, groups, tracks
(exported per frame), label colours. Detection keeps only boxes (rotation lost);
Segmentation keeps polygons and masks (masks become outer polygons, holes lost);
OBB keeps boxes as four corners (re-imported as polygons unless axis-aligned, which
come back as boxes); Pose keeps skeletons (visibility 0/1/2, element attributes lost);
Classification keeps the tags of each image.
Importing needs image sizes: from the archive's images or the ``frame_size`` callback.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from . import masks
from .base import (
    ExportSource,
    FormatError,
    FrameInfo,
    FrameSizeLookup,
    ImportedDataset,
    ImportedFrame,
    LabelDef,
    Shape,
    iter_frames_with_tracks,
    load_json,
    make_shape,
    make_tag,
    open_zip_out,
    rotated_box_corners,
    strip_ext,
    zip_write_image,
    zip_write_text,
)
from .yolo import (
    IMAGE_EXTS,
    box_from_norm,
    find_image,
    fmt_line,
    image_size,
    norm_box,
    parse_numbers,
    yolo_subset,
)

LineMaker = Callable[[Shape, FrameInfo, LabelDef], list[list[float]]]


def _detect_lines(shape: Shape, info: FrameInfo, label: LabelDef) -> list[list[float]]:
    return [norm_box(shape, info)] if shape["type"] == "rectangle" else []


def _norm(points: list[float], info: FrameInfo) -> list[float]:
    return [v / (info.width if i % 2 == 0 else info.height) for i, v in enumerate(points)]


def _segment_lines(shape: Shape, info: FrameInfo, label: LabelDef) -> list[list[float]]:
    if shape["type"] == "polygon":
        return [_norm(shape["points"], info)]
    if shape["type"] == "mask":
        bitmap = masks.decode_cvat_mask(shape["points"], info.width, info.height)
        return [_norm(p, info) for p in masks.bitmap_to_polygons(bitmap)]
    return []


def _obb_lines(shape: Shape, info: FrameInfo, label: LabelDef) -> list[list[float]]:
    if shape["type"] != "rectangle":
        return []
    return [_norm(rotated_box_corners(shape), info)]


def _pose_lines(
    shape: Shape, info: FrameInfo, label: LabelDef, kpt_count: int
) -> list[list[float]]:
    if shape["type"] != "skeleton":
        return []
    by_name = {el["label"]: el for el in shape.get("elements") or ()}
    values = norm_box(shape, info)
    for sub in label.sublabels:
        el = by_name.get(sub.name)
        if el is None or el.get("outside") or not el["points"]:
            values += [0.0, 0.0, 0]
        else:
            x, y = el["points"][:2]
            values += [x / info.width, y / info.height, 1 if el.get("occluded") else 2]
    values += [0.0, 0.0, 0] * (kpt_count - len(label.sublabels))
    return [values]


def _yaml_str(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)  # a JSON string is a valid YAML scalar


def _data_yaml(names: list[str], subsets: list[str], extra: list[str]) -> str:
    lines = ["path: ."]
    lines += [f"{s}: images/{s}" for s in subsets]
    lines += extra
    # an empty map stays a map ("names: {}", as CVAT's yaml.dump writes it), not null
    lines.append("names:" if names else "names: {}")
    lines += [f"  {i}: {_yaml_str(n)}" for i, n in enumerate(names)]
    return "\n".join(lines) + "\n"


def _export(
    source: ExportSource,
    out: IO[bytes],
    save_images: bool,
    make_lines: LineMaker,
    labels: list[LabelDef],
    extra_yaml: list[str],
) -> None:
    ids = {lb.name: i for i, lb in enumerate(labels)}
    by_name = {lb.name: lb for lb in labels}
    subsets: list[str] = []
    with open_zip_out(out) as zf:
        for info, _tags, shapes in iter_frames_with_tracks(source):
            subset = yolo_subset(info.subset)
            if subset not in subsets:
                subsets.append(subset)
            lines = []
            for s in shapes:
                if s["label"] in ids:
                    lines += [
                        fmt_line(ids[s["label"]], v)
                        for v in make_lines(s, info, by_name[s["label"]])
                    ]
            stem = strip_ext(info.name)
            zip_write_text(zf, f"labels/{subset}/{stem}.txt", "".join(f"{ln}\n" for ln in lines))
            if save_images:
                zip_write_image(zf, f"images/{subset}/{info.name}", info)
        names = [lb.name for lb in labels]
        zip_write_text(zf, "data.yaml", _data_yaml(names, subsets or ["train"], extra_yaml))


def export_detection(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    _export(source, out, save_images, _detect_lines, list(source.labels), [])


def export_segmentation(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    _export(source, out, save_images, _segment_lines, list(source.labels), [])


def export_obb(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    _export(source, out, save_images, _obb_lines, list(source.labels), [])


def export_pose(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    labels = [lb for lb in source.labels if lb.type == "skeleton"]
    kpt = max((len(lb.sublabels) for lb in labels), default=0)

    def lines(shape: Shape, info: FrameInfo, label: LabelDef) -> list[list[float]]:
        return _pose_lines(shape, info, label, kpt)

    _export(source, out, save_images, lines, labels, [f"kpt_shape: [{kpt}, 3]"])


NO_LABEL = "no_label"  # the folder of images without a tag (datumaro's convention)
LABELS_JSON = "labels.json"  # CVAT's extension: each item's id, tags and image path


def export_classification(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    """CVAT's layout: ``<subset>/<class>/<image>``, untagged images in ``no_label/``.

    Every frame is written (an image with several tags into each class folder, with
    ``name.0.ext``... when a folder already has that name) and ``<subset>/labels.json``
    maps each item id to its tags and image path, so the export says the same without
    images.
    """
    names = {lb.name for lb in source.labels}
    infos: dict[str, dict[str, dict[str, object]]] = {}
    used: dict[str, set[str]] = {}
    with open_zip_out(out) as zf:
        for info, tags, _shapes in source.frames():
            subset = yolo_subset(info.subset)
            item_id = strip_ext(info.name)
            labels = list(dict.fromkeys(t["label"] for t in tags if t["label"] in names))
            entry: dict[str, object] = {"labels": labels}
            base = PurePosixPath(item_id).name
            ext = PurePosixPath(info.name).suffix
            for label in labels or [NO_LABEL]:
                folder = f"{subset}/{label}"
                taken = used.setdefault(folder, set())
                name, index = base, 0
                while name in taken:
                    name = f"{base}.{index}"
                    index += 1
                taken.add(name)
                entry["path"] = f"{label}/{name}{ext}"
                if save_images:
                    zip_write_image(zf, f"{folder}/{name}{ext}", info)
            infos.setdefault(subset, {})[item_id] = entry
        for subset, items in infos.items():
            zip_write_text(zf, f"{subset}/{LABELS_JSON}", json.dumps(items, ensure_ascii=False))


# ---------------------------------------------------------------- import


def _load_yaml(path: Path) -> dict:
    import yaml

    try:
        data = yaml.safe_load(path.read_text("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        raise FormatError(f"{path.name}: malformed YAML ({e})") from e
    if not isinstance(data, dict):
        raise FormatError(f"{path.name}: expected a mapping at the top level")
    return data


def _names(data: dict, path: Path) -> list[str]:
    names = data.get("names")
    if names is None and "names" in data:
        return []  # "names:" with no classes (a task without labels of the kind)
    if isinstance(names, dict):
        try:
            return [str(names[k]) for k in sorted(names, key=int)]
        except (TypeError, ValueError) as e:
            raise FormatError(f"{path.name}: 'names' keys must be class indices") from e
    if isinstance(names, list):
        return [str(n) for n in names]
    raise FormatError(f"{path.name}: no 'names' list")


class UltralyticsDataset(ImportedDataset):
    def __init__(self, root: Path, task: str, frame_size: FrameSizeLookup | None) -> None:
        super().__init__()
        yaml_file = next(iter(sorted(root.rglob("*.yaml"))), None) if root.is_dir() else None
        if yaml_file is None:
            raise FormatError("data.yaml not found: not an Ultralytics YOLO archive")
        self.root = yaml_file.parent
        self.data = _load_yaml(yaml_file)
        self.names = _names(self.data, yaml_file)
        self.task = task
        self.frame_size = frame_size
        kpt = self.data.get("kpt_shape") or [0, 3]
        self.kpt_count, self.kpt_dim = int(kpt[0]), int(kpt[1]) if len(kpt) > 1 else 2
        label_type = {"detect": "rectangle", "segment": "polygon", "obb": "rectangle"}.get(task)
        for n in self.names:
            if task == "pose":
                self.labels[n] = LabelDef(
                    name=n,
                    type="skeleton",
                    sublabels=[
                        LabelDef(name=str(i + 1), type="points") for i in range(self.kpt_count)
                    ],
                )
            else:
                self.see_label(n, label_type or "any")

    def frames(self) -> Iterator[ImportedFrame]:
        labels_root = self.root / "labels"
        for subset_dir in sorted(p for p in labels_root.glob("*") if p.is_dir()):
            subset = subset_dir.name
            image_dir = self.root / "images" / subset
            for txt in sorted(subset_dir.rglob("*.txt")):
                rel = txt.relative_to(subset_dir).with_suffix("").as_posix()
                image = find_image(txt, [image_dir], rel)
                name = str(PurePosixPath(rel).with_suffix(image.suffix)) if image else rel
                item = ImportedFrame(name=name, subset="" if subset == "train" else subset)
                lines = [ln for ln in txt.read_text("utf-8").splitlines() if ln.strip()]
                if lines:
                    item.width, item.height = image_size(image, name, self.frame_size)
                for lineno, line in enumerate(lines, 1):
                    cls, values = parse_numbers(line, txt, lineno)
                    if not 0 <= cls < len(self.names):
                        raise FormatError(f"{txt.name}:{lineno}: class {cls} not in data.yaml")
                    shape = self._shape(self.names[cls], values, item, txt, lineno)
                    if self.task != "pose":  # pose labels come fully formed from data.yaml
                        self.see_shape(shape)
                    item.shapes.append(shape)
                yield item

    def _shape(
        self, label: str, v: list[float], item: ImportedFrame, txt: Path, lineno: int
    ) -> Shape:
        w, h = item.width or 1, item.height or 1
        pts = [c * (w if i % 2 == 0 else h) for i, c in enumerate(v)]
        if self.task == "detect":
            if len(v) != 4:
                raise FormatError(f"{txt.name}:{lineno}: expected 4 box values, got {len(v)}")
            return make_shape("rectangle", label, 0, box_from_norm(v, w, h))
        if self.task == "segment":
            if len(v) < 6 or len(v) % 2:
                raise FormatError(f"{txt.name}:{lineno}: a polygon needs ≥3 x,y pairs")
            return make_shape("polygon", label, 0, pts)
        if self.task == "obb":
            if len(v) != 8:
                raise FormatError(f"{txt.name}:{lineno}: expected 8 corner values, got {len(v)}")
            return _corners_to_shape(label, pts)
        if len(v) != 4 + self.kpt_count * self.kpt_dim:
            raise FormatError(f"{txt.name}:{lineno}: keypoint count does not match kpt_shape")
        elements = []
        subs = self.labels[label].sublabels
        for i in range(self.kpt_count):
            kp = v[4 + i * self.kpt_dim : 4 + (i + 1) * self.kpt_dim]
            vis = kp[2] if self.kpt_dim == 3 else 2.0
            elements.append(
                make_shape(
                    "points",
                    subs[i].name,
                    0,
                    [kp[0] * w, kp[1] * h],
                    outside=vis == 0,
                    occluded=vis == 1,
                )
            )
        return make_shape("skeleton", label, 0, [], elements=elements)


def _corners_to_shape(label: str, pts: list[float]) -> Shape:
    """Four corners → a (possibly rotated) box when they form a rectangle, else a polygon."""
    import math

    xs, ys = pts[0::2], pts[1::2]
    cx, cy = sum(xs) / 4, sum(ys) / 4
    w = math.dist(pts[0:2], pts[2:4])
    h = math.dist(pts[2:4], pts[4:6])
    diag_ok = abs(math.dist(pts[0:2], pts[4:6]) - math.hypot(w, h)) < 1e-3 * max(w + h, 1)
    if not diag_ok:
        return make_shape("polygon", label, 0, pts)
    angle = math.degrees(math.atan2(pts[3] - pts[1], pts[2] - pts[0])) % 360
    box = [cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2]
    return make_shape("rectangle", label, 0, box, rotation=round(angle, 6) % 360)


class ClassificationDataset(ImportedDataset):
    def __init__(self, root: Path) -> None:
        super().__init__()
        if not root.is_dir():
            raise FormatError("Ultralytics classification expects a directory archive")
        self.root = root

    def frames(self) -> Iterator[ImportedFrame]:
        for subset_dir in sorted(p for p in self.root.iterdir() if p.is_dir()):
            subset = "" if subset_dir.name == "train" else subset_dir.name
            labels_file = subset_dir / LABELS_JSON
            if labels_file.is_file():
                yield from self._from_labels_json(labels_file, subset)
            else:
                yield from self._from_folders(subset_dir, subset)

    def _from_labels_json(self, path: Path, subset: str) -> Iterator[ImportedFrame]:
        # CVAT's reader takes an item's tags from labels.json when the file is there
        items = load_json(path)
        if not isinstance(items, dict):
            raise FormatError(f"{path.parent.name}/{path.name}: expected an object of items")
        for item_id, entry in items.items():
            labels = entry.get("labels") if isinstance(entry, dict) else None
            if not isinstance(labels, list):
                raise FormatError(f"{path.name}: item {item_id!r} has no 'labels' list")
            image = str(entry.get("path") or "")
            suffix = PurePosixPath(image).suffix
            item = ImportedFrame(name=f"{item_id}{suffix}", subset=subset)
            for label in labels:
                self.see_label(str(label), "tag")
                item.tags.append(make_tag(str(label), 0))
            yield item

    def _from_folders(self, subset_dir: Path, subset: str) -> Iterator[ImportedFrame]:
        items: dict[str, ImportedFrame] = {}
        for class_dir in sorted(p for p in subset_dir.iterdir() if p.is_dir()):
            for f in sorted(class_dir.rglob("*")):
                if not f.is_file():
                    continue
                rel = f.relative_to(class_dir).as_posix()
                if rel.endswith(".txt") and rel[:-4].lower().endswith(IMAGE_EXTS):
                    rel = rel[:-4]  # earlier LabelVault exports without images
                elif not rel.lower().endswith(IMAGE_EXTS):
                    continue
                item = items.setdefault(rel, ImportedFrame(name=rel, subset=subset))
                if class_dir.name != NO_LABEL:
                    self.see_label(class_dir.name, "tag")
                    item.tags.append(make_tag(class_dir.name, 0))
        # an image may sit in several class folders, so items are emitted after the walk
        yield from items.values()


def _importer(task: str) -> Callable[..., ImportedDataset]:
    def import_(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
        return UltralyticsDataset(path, task, frame_size)

    return import_


import_detection = _importer("detect")
import_segmentation = _importer("segment")
import_obb = _importer("obb")
import_pose = _importer("pose")


def import_classification(
    path: Path, *, frame_size: FrameSizeLookup | None = None
) -> ImportedDataset:
    return ClassificationDataset(path)
