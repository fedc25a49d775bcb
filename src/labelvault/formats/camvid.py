"""CamVid 1.0: ``label_colors.txt``, ``<subset>/`` images, ``<subset>annot/`` class masks.

The layout is what CVAT's "CamVid 1.0" exporter writes (datumaro's camvid writer): one
colour per label in ``label_colors.txt`` ("R G B name", "background" first in black, then
the labels by name), a class-colour PNG per annotated image in ``<subset>annot/<id>.png``,
and ``<subset>.txt`` listing "/<subset>/<image> <subset>annot/<id>.png" (no mask path for an
image without masks). Boxes, polygons, ellipses and masks are painted in z_order; imports
give one mask per label per image, as CVAT's importer does. Cannot express: instances
(touching shapes of one label merge), polylines, points, cuboids, skeletons, tags,
attributes, occlusion, groups, tracks (exported per frame).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

import numpy as np

from . import masks
from .base import (
    ExportSource,
    Format,
    FormatError,
    FrameSizeLookup,
    ImportedDataset,
    ImportedFrame,
    defaulted_subset,
    iter_frames_with_tracks,
    make_shape,
    open_zip_out,
    strip_ext,
    zip_write_image,
    zip_write_text,
)
from .segmentation_mask import PAINTED, _bitmap, _hex, _png, _read_rgb
from .voc import _color

LABEL_COLORS = "label_colors.txt"
BACKGROUND = "background"


def _label_colors(source: ExportSource) -> dict[str, tuple[int, int, int]]:
    """Each label's colour (CVAT: the label's own), black kept for the background."""
    colors: dict[str, tuple[int, int, int]] = {}
    for i, label in enumerate(source.labels, 1):
        color = _hex(label.color) or _color(i)
        n = 0
        # a clash would merge two labels' pixels on import; move the later one aside
        while color in colors.values() or color == (0, 0, 0):
            n += 1
            color = _color(len(source.labels) + 40 + n + i)
        colors[label.name] = color
    return colors


def export(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    colors = _label_colors(source)
    raw_subsets = [t.subset for t in source.meta.tasks] or [source.meta.subset]
    lists: dict[str, list[str]] = {}
    with open_zip_out(out) as zf:
        for info, _tags, shapes in iter_frames_with_tracks(source):
            subset = defaulted_subset(info.subset, raw_subsets)
            stem = strip_ext(info.name)
            image_path = f"{subset}/{info.name}"
            painted = [s for s in shapes if s["type"] in PAINTED and s["label"] in colors]
            mask_path = ""
            if painted:
                w, h = info.width, info.height
                rgb = np.zeros((h, w, 3), dtype=np.uint8)
                for shape in sorted(painted, key=lambda s: s.get("z_order") or 0):
                    rgb[_bitmap(shape, w, h)] = colors[shape["label"]]
                mask_path = f"{subset}annot/{stem}.png"
                zf.writestr(mask_path, _png(rgb))
            if save_images:
                zip_write_image(zf, image_path, info)
            # datumaro's save_segm_lists: both paths quoted when either holds a space
            img, mp = "/" + image_path, mask_path
            if len(img.split()) > 1 or len(mp.split()) > 1:
                img, mp = f'"{img}"', f'"{mp}"'
            line = f"{img} {mp}"
            lists.setdefault(subset, []).append(line)
        for subset, lines in lists.items():
            zip_write_text(zf, f"{subset}.txt", "".join(f"{line}\n" for line in lines))
        text = f"0 0 0 {BACKGROUND}\n" + "".join(
            f"{r} {g} {b} {name}\n" for name, (r, g, b) in sorted(colors.items())
        )
        zip_write_text(zf, LABEL_COLORS, text)


# ---------------------------------------------------------------- import


def _read_label_colors(path: Path) -> dict[tuple[int, int, int], str]:
    """``label_colors.txt``: "R G B name" lines; names alone get datumaro's generated colours."""
    named: list[tuple[str, tuple[int, int, int] | None]] = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        parts = line.split()
        if len(parts) > 2:
            try:
                color = (int(parts[0]), int(parts[1]), int(parts[2]))
            except ValueError as e:
                raise FormatError(f"{LABEL_COLORS}:{number}: bad colour in {line!r}") from e
            named.append((" ".join(parts[3:]), color))
        else:
            named.append((parts[0], None))
    if all(color is None for _, color in named):
        # datumaro's generate_colormap: the VOC palette with the background at index 0
        if not any(c == (0, 0, 0) for _, c in named) and BACKGROUND not in dict(named):
            named.insert(0, (BACKGROUND, None))
        return {_color(i): name for i, (name, _) in enumerate(named)}
    return {color: name for name, color in named if color is not None}


def _parse_line(line: str) -> tuple[str, str | None]:
    """datumaro's ``_parse_annotation_line``: two paths, quoted when they hold spaces."""
    line = line.strip()
    parts = line.split('"')
    if len(parts) > 1:
        if len(parts) != 5:
            raise FormatError(f"unexpected number of quotes in {line!r}")
        parts = [parts[1], parts[3]]
    else:
        parts = line.split()
    if len(parts) > 1 and parts[1]:
        return parts[0], parts[1].lstrip("/")
    return parts[0], None


class CamvidDataset(ImportedDataset):
    def __init__(self, root: Path) -> None:
        super().__init__()
        if root.is_file():
            root = root.parent
        lists = [p for p in sorted(root.rglob("*.txt")) if p.name != LABEL_COLORS]
        if not lists:
            raise FormatError("no CamVid <subset>.txt list found")
        self.root = lists[0].parent
        self.lists = [p for p in lists if p.parent == self.root]
        colors_file = self.root / LABEL_COLORS
        if colors_file.is_file():
            self.colors = _read_label_colors(colors_file)
        else:
            raise FormatError(f"{LABEL_COLORS} not found next to {self.lists[0].name}")
        for name in self.colors.values():
            if name != BACKGROUND:
                self.see_label(name, "mask")

    def frames(self) -> Iterator[ImportedFrame]:
        for list_path in self.lists:
            subset = list_path.stem
            for number, line in enumerate(list_path.read_text("utf-8").splitlines(), 1):
                if not line.strip():
                    continue
                try:
                    image, mask = _parse_line(line)
                except FormatError as e:
                    raise FormatError(f"{list_path.name}:{number}: {e}") from None
                # datumaro drops the leading "/<subset>/" of the image path for the item id
                parts = PurePosixPath(image.lstrip("/")).parts
                name = str(PurePosixPath(*parts[1:])) if len(parts) > 1 else parts[0]
                yield self._item(name, mask, "" if subset == "default" else subset, list_path)

    def _item(self, name: str, mask: str | None, subset: str, list_path: Path) -> ImportedFrame:
        item = ImportedFrame(name=name, subset=subset)
        if mask is None:
            return item
        path = (self.root / mask).resolve()
        if self.root.resolve() not in path.parents or not path.is_file():
            raise FormatError(f"{list_path.name}: mask {mask!r} is not in the archive")
        rgb = _read_rgb(path)
        item.height, item.width = rgb.shape[:2]
        flat = rgb.reshape(-1, 3)
        for color in np.unique(flat, axis=0):
            label = self.colors.get((int(color[0]), int(color[1]), int(color[2])))
            # background pixels (CVAT writes the "background" label in black) hold no object
            if label is None or label == BACKGROUND:
                continue
            bitmap = np.all(rgb == color, axis=2)
            item.shapes.append(make_shape("mask", label, 0, masks.encode_cvat_mask(bitmap)))
        return item


def import_(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    return CamvidDataset(path)


FORMATS = [Format("CamVid", "1.0", "ZIP", "ZIP", export, import_)]
