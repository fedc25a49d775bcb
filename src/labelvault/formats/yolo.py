"""YOLO 1.1 (darknet layout): obj.data, obj.names, obj_<subset>_data/*.txt, <subset>.txt.

Each line is ``class cx cy w h`` normalised to the image size. Cannot express: anything but
axis-aligned boxes (other shapes and tags are dropped; rotated boxes lose their rotation),
attributes, occlusion, z_order, groups, tracks (exported per frame), label types/colours.
Importing needs each image's size: from the image in the archive, or the ``frame_size``
callback the server passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from .base import (
    ExportSource,
    FormatError,
    FrameInfo,
    FrameSizeLookup,
    ImportedDataset,
    ImportedFrame,
    Shape,
    iter_frames_with_tracks,
    make_shape,
    open_zip_out,
    shape_bbox,
    strip_ext,
    zip_write_image,
    zip_write_text,
)

IMAGE_EXTS = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".jfif")


def yolo_subset(subset: str) -> str:
    # CVAT's default subset has no name; YOLO tooling expects train/valid
    return subset if subset and subset != "default" else "train"


def norm_box(shape: Shape, info: FrameInfo) -> list[float]:
    x1, y1, x2, y2 = shape_bbox(shape)
    w, h = info.width, info.height
    return [(x1 + x2) / 2 / w, (y1 + y2) / 2 / h, (x2 - x1) / w, (y2 - y1) / h]


def fmt_line(cls: int, values: list[float]) -> str:
    # ints (keypoint visibility flags) stay ints; coordinates get 6 decimals
    return " ".join([str(cls)] + [str(v) if isinstance(v, int) else f"{v:.6f}" for v in values])


def export(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    names = [lb.name for lb in source.labels]
    ids = {n: i for i, n in enumerate(names)}
    listed: dict[str, list[str]] = {}
    with open_zip_out(out) as zf:
        for info, _tags, shapes in iter_frames_with_tracks(source):
            subset = yolo_subset(info.subset)
            folder = f"obj_{subset}_data"
            lines = [
                fmt_line(ids[s["label"]], norm_box(s, info))
                for s in shapes
                if s["type"] == "rectangle" and s["label"] in ids
            ]
            zip_write_text(
                zf, f"{folder}/{strip_ext(info.name)}.txt", "".join(f"{ln}\n" for ln in lines)
            )
            listed.setdefault(subset, []).append(f"data/{folder}/{info.name}")
            if save_images:
                zip_write_image(zf, f"{folder}/{info.name}", info)
        zip_write_text(zf, "obj.names", "".join(f"{n}\n" for n in names))
        data = [f"classes = {len(names)}"]
        for subset, paths in listed.items():
            zip_write_text(zf, f"{subset}.txt", "".join(f"{p}\n" for p in paths))
            data.append(f"{subset} = data/{subset}.txt")
        data += ["names = data/obj.names", "backup = backup/", ""]
        zip_write_text(zf, "obj.data", "\n".join(data))


def image_size(
    image: Path | None, name: str, frame_size: FrameSizeLookup | None
) -> tuple[int, int]:
    if image is not None:
        from PIL import Image

        with Image.open(image) as im:  # reads the header only
            return im.size
    if frame_size is not None:
        size = frame_size(name)
        if size:
            return size
    raise FormatError(f"{name}: image size unknown (no image in the archive and no frame match)")


def find_image(label_file: Path, image_dirs: list[Path], rel: str) -> Path | None:
    for d in image_dirs:
        for ext in IMAGE_EXTS:
            for cand in (d / f"{rel}{ext}", d / f"{rel}{ext.upper()}"):
                if cand.is_file():
                    return cand
    return None


def parse_numbers(line: str, path: Path, lineno: int) -> tuple[int, list[float]]:
    parts = line.split()
    try:
        return int(parts[0]), [float(v) for v in parts[1:]]
    except (ValueError, IndexError) as e:
        raise FormatError(f"{path.name}:{lineno}: malformed line {line!r}") from e


def read_names(path: Path) -> list[str]:
    try:
        return [ln.strip() for ln in path.read_text("utf-8").splitlines() if ln.strip()]
    except UnicodeDecodeError as e:
        raise FormatError(f"{path.name}: not UTF-8 text") from e


def box_from_norm(values: list[float], w: int, h: int) -> list[float]:
    cx, cy, bw, bh = values[:4]
    return [(cx - bw / 2) * w, (cy - bh / 2) * h, (cx + bw / 2) * w, (cy + bh / 2) * h]


class YoloDataset(ImportedDataset):
    def __init__(self, root: Path, frame_size: FrameSizeLookup | None) -> None:
        super().__init__()
        names_file = next(iter(sorted(root.rglob("obj.names"))), None) if root.is_dir() else None
        if names_file is None:
            raise FormatError("obj.names not found: not a YOLO 1.1 archive")
        self.root = names_file.parent
        self.names = read_names(names_file)
        for n in self.names:
            self.see_label(n, "rectangle")
        self.frame_size = frame_size

    def frames(self) -> Iterator[ImportedFrame]:
        for data_dir in sorted(self.root.glob("obj_*_data")):
            subset = data_dir.name[4:-5]
            for txt in sorted(data_dir.rglob("*.txt")):
                rel = txt.relative_to(data_dir).with_suffix("").as_posix()
                image = find_image(txt, [data_dir], rel)
                name = str(PurePosixPath(rel).with_suffix(image.suffix)) if image else rel
                item = ImportedFrame(name=name, subset="" if subset == "train" else subset)
                lines = [ln for ln in txt.read_text("utf-8").splitlines() if ln.strip()]
                if lines:
                    w, h = image_size(image, name, self.frame_size)
                    item.width, item.height = w, h
                for lineno, line in enumerate(lines, 1):
                    cls, values = parse_numbers(line, txt, lineno)
                    if not 0 <= cls < len(self.names) or len(values) != 4:
                        raise FormatError(f"{txt.name}:{lineno}: bad class id or value count")
                    item.shapes.append(
                        make_shape("rectangle", self.names[cls], 0, box_from_norm(values, w, h))
                    )
                yield item


def import_(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    return YoloDataset(path, frame_size)
