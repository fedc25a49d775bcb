"""Segmentation mask 1.1: VOC-style class and instance PNGs with a labelmap.txt.

SegmentationClass/<name>.png colours each pixel by label (labelmap.txt gives the colours),
SegmentationObject/<name>.png by instance; ImageSets/Segmentation/<subset>.txt lists items.
Boxes, polygons, ellipses and masks are painted in z_order. Imports give one mask per
instance. Cannot express: polylines, points, cuboids, skeletons, tags, attributes,
occlusion, groups, tracks (exported per frame); overlapping shapes lose hidden pixels.
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import numpy as np
from numpy.typing import NDArray

from . import masks
from .base import (
    ExportSource,
    Format,
    FormatError,
    FrameSizeLookup,
    ImportedDataset,
    ImportedFrame,
    Shape,
    iter_frames_with_tracks,
    make_shape,
    open_zip_out,
    strip_ext,
    zip_write_image,
    zip_write_text,
)
from .voc import _color, labelmap_text

PAINTED = ("rectangle", "polygon", "ellipse", "mask")


def _bitmap(shape: Shape, width: int, height: int) -> NDArray[np.bool_]:
    t = shape["type"]
    if t == "mask":
        return masks.decode_cvat_mask(shape["points"], width, height)
    if t == "rectangle":
        from .base import rotated_box_corners

        pts = rotated_box_corners(shape)
        return masks.polygon_to_bitmap(pts, width, height)
    if t == "ellipse":
        from .coco import ellipse_polygon

        return masks.polygon_to_bitmap(
            ellipse_polygon(shape["points"], shape.get("rotation") or 0.0), width, height
        )
    return masks.polygon_to_bitmap(shape["points"], width, height)


def _png(rgb: NDArray[np.uint8]) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(buf, "PNG")
    return buf.getvalue()


def _hex(color: str) -> tuple[int, int, int] | None:
    if len(color) == 7 and color.startswith("#"):
        try:
            return int(color[1:3], 16), int(color[3:5], 16), int(color[5:7], 16)
        except ValueError:
            return None
    return None


def export(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    names = [lb.name for lb in source.labels]
    colors: list[tuple[int, int, int]] = []
    for i, lb in enumerate(source.labels, 1):
        color = _hex(lb.color) or _color(i)
        while color in colors or color == (0, 0, 0):
            color = _color(len(colors) + 40 + i)
        colors.append(color)
    by_name = dict(zip(names, colors, strict=True))
    sets: dict[str, list[str]] = {}
    with open_zip_out(out) as zf:
        for info, _tags, shapes in iter_frames_with_tracks(source):
            w, h = info.width, info.height
            cls = np.zeros((h, w, 3), dtype=np.uint8)
            obj = np.zeros((h, w, 3), dtype=np.uint8)
            painted = [s for s in shapes if s["type"] in PAINTED and s["label"] in by_name]
            painted.sort(key=lambda s: s.get("z_order") or 0)
            for index, shape in enumerate(painted, 1):
                bitmap = _bitmap(shape, w, h)
                cls[bitmap] = by_name[shape["label"]]
                obj[bitmap] = _color(index)
            stem = strip_ext(info.name)
            zf.writestr(f"SegmentationClass/{stem}.png", _png(cls))
            zf.writestr(f"SegmentationObject/{stem}.png", _png(obj))
            sets.setdefault(info.subset or "default", []).append(stem)
            if save_images:
                zip_write_image(zf, f"JPEGImages/{info.name}", info)
        for subset, stems in sets.items():
            text = "".join(f"{s}\n" for s in stems)
            zip_write_text(zf, f"ImageSets/Segmentation/{subset}.txt", text)
        zip_write_text(zf, "labelmap.txt", labelmap_text(names, colors))


def _read_labelmap(path: Path) -> dict[tuple[int, int, int], str]:
    out = {}
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, _, rest = line.partition(":")
        try:
            r, g, b = (int(v) for v in rest.split(":")[0].split(","))
        except ValueError as e:
            raise FormatError(f"labelmap.txt:{number}: bad colour in {line!r}") from e
        if name != "background":
            out[(r, g, b)] = name
    return out


def _read_rgb(path: Path) -> NDArray[np.uint8]:
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(path) as im:
            return np.array(im.convert("RGB"))
    except (UnidentifiedImageError, OSError) as e:
        raise FormatError(f"{path.name}: not a readable PNG ({e})") from e


class SegmentationDataset(ImportedDataset):
    def __init__(self, root: Path) -> None:
        super().__init__()
        found = [p.parent for p in root.rglob("labelmap.txt")] if root.is_dir() else []
        if not found:
            raise FormatError("labelmap.txt not found: not a Segmentation mask archive")
        self.root = found[0]
        self.colors = _read_labelmap(self.root / "labelmap.txt")
        for name in self.colors.values():
            self.see_label(name, "mask")
        self.subsets: dict[str, str] = {}
        for path in sorted((self.root / "ImageSets" / "Segmentation").glob("*.txt")):
            for line in path.read_text("utf-8").split():
                self.subsets[line] = path.stem

    def frames(self) -> Iterator[ImportedFrame]:
        class_dir = self.root / "SegmentationClass"
        for path in sorted(class_dir.rglob("*.png")):
            stem = path.relative_to(class_dir).with_suffix("").as_posix()
            cls = _read_rgb(path)
            h, w = cls.shape[:2]
            subset = self.subsets.get(stem, "")
            item = ImportedFrame(
                name=stem, width=w, height=h, subset="" if subset == "default" else subset
            )
            obj_path = self.root / "SegmentationObject" / f"{stem}.png"
            regions = self._instances(_read_rgb(obj_path), cls) if obj_path.is_file() else []
            if not obj_path.is_file():
                for color, name in self.colors.items():
                    bitmap = np.all(cls == color, axis=2)
                    if bitmap.any():
                        regions.append((name, bitmap))
            for name, bitmap in regions:
                item.shapes.append(make_shape("mask", name, 0, masks.encode_cvat_mask(bitmap)))
            yield item

    def _instances(
        self, obj: NDArray[np.uint8], cls: NDArray[np.uint8]
    ) -> list[tuple[str, NDArray[np.bool_]]]:
        flat = obj.reshape(-1, 3)
        out = []
        for color in np.unique(flat, axis=0):
            if not color.any():
                continue
            bitmap = np.all(obj == color, axis=2)
            values, counts = np.unique(cls[bitmap], axis=0, return_counts=True)
            name = self.colors.get(tuple(int(v) for v in values[int(np.argmax(counts))]))
            if name is not None:
                out.append((name, bitmap))
        return out


def import_(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    return SegmentationDataset(path)


FORMATS = [Format("Segmentation mask", "1.1", "ZIP", "ZIP", export, import_)]
