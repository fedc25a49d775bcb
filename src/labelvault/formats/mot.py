"""MOT 1.1: gt/gt.txt (frame, id, x, y, w, h, conf, class, visibility), gt/labels.txt, img1/.

Expresses boxes over time: tracks keep their ids (one keyframe per frame), shapes get ids
of their own; occlusion as visibility 0. Cannot express: other shape types, tags,
attributes, rotation, z_order, groups, sources. Frames are numbered from 1 as MOT does.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from .base import (
    ExportSource,
    Format,
    FormatError,
    FrameSizeLookup,
    ImportedDataset,
    ImportedFrame,
    Track,
    iter_frames_with_tracks,
    open_zip_out,
    shape_bbox,
    zip_write_image,
    zip_write_text,
)


def export(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    names = [lb.name for lb in source.labels]
    ids = {n: i + 1 for i, n in enumerate(names)}
    lines: list[str] = []
    next_id = 1_000_000  # single-frame shapes get ids far from the tracks' own
    with open_zip_out(out) as zf:
        for info, _tags, shapes in iter_frames_with_tracks(source):
            for shape in shapes:
                if shape["type"] != "rectangle" or shape["label"] not in ids:
                    continue
                if "track_id" in shape:
                    object_id = shape["track_id"] + 1
                else:
                    object_id, next_id = next_id, next_id + 1
                x1, y1, x2, y2 = shape_bbox(shape)
                visibility = 0.0 if shape.get("occluded") else 1.0
                lines.append(
                    f"{info.frame + 1},{object_id},{x1:g},{y1:g},{x2 - x1:g},{y2 - y1:g},"
                    f"1,{ids[shape['label']]},{visibility:g}\n"
                )
            if save_images:
                zip_write_image(zf, f"img1/{info.name}", info)
        zip_write_text(zf, "gt/gt.txt", "".join(lines))
        zip_write_text(zf, "gt/labels.txt", "".join(f"{n}\n" for n in names))


class MotDataset(ImportedDataset):
    def __init__(self, root: Path) -> None:
        super().__init__()
        found = sorted(root.rglob("gt.txt")) if root.is_dir() else [root]
        if not found or not found[0].is_file():
            raise FormatError("gt/gt.txt not found: not a MOT archive")
        self.gt = found[0]
        labels_file = self.gt.parent / "labels.txt"
        self.names = (
            [n.strip() for n in labels_file.read_text("utf-8").splitlines() if n.strip()]
            if labels_file.is_file()
            else []
        )
        for n in self.names:
            self.see_label(n, "rectangle")
        images = self.gt.parent.parent / "img1"
        self.images = sorted(p.name for p in images.iterdir()) if images.is_dir() else []
        self._rows = self._read()

    def _read(self) -> list[tuple[int, int, list[float], str, bool]]:
        rows = []
        for number, line in enumerate(self.gt.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split(",")]
            try:
                frame, object_id = int(float(parts[0])), int(float(parts[1]))
                x, y, w, h = (float(v) for v in parts[2:6])
                cls = int(float(parts[7])) if len(parts) > 7 else 1
                visibility = float(parts[8]) if len(parts) > 8 else 1.0
            except (ValueError, IndexError) as e:
                raise FormatError(f"gt.txt:{number}: malformed line {line!r}") from e
            if self.names:
                if not 1 <= cls <= len(self.names):
                    raise FormatError(f"gt.txt:{number}: class {cls} is not in labels.txt")
                label = self.names[cls - 1]
            else:
                label = str(cls)
                self.see_label(label, "rectangle")
            rows.append((frame - 1, object_id, [x, y, x + w, y + h], label, visibility < 0.5))
        return rows

    def frames(self) -> Iterator[ImportedFrame]:
        last = max((r[0] for r in self._rows), default=-1)
        count = max(last + 2, len(self.images))
        for frame in range(count):
            name = self.images[frame] if frame < len(self.images) else ""
            yield ImportedFrame(name=name, frame=frame)

    def tracks(self) -> Iterator[Track]:
        by_id: dict[int, list[tuple[int, list[float], str, bool]]] = {}
        for frame, object_id, box, label, occluded in self._rows:
            by_id.setdefault(object_id, []).append((frame, box, label, occluded))
        for rows in by_id.values():
            rows.sort(key=lambda r: r[0])
            shapes: list[dict[str, Any]] = []
            for frame, box, _label, occluded in rows:
                shapes.append(_keyframe(frame, box, occluded, False))
            last_frame, last_box = rows[-1][0], rows[-1][1]
            shapes.append(_keyframe(last_frame + 1, last_box, False, True))
            yield {
                "label": rows[0][2],
                "frame": rows[0][0],
                "group": 0,
                "source": "file",
                "attributes": [],
                "shapes": shapes,
                "elements": [],
            }


def _keyframe(frame: int, box: list[float], occluded: bool, outside: bool) -> dict[str, Any]:
    return {
        "frame": frame,
        "type": "rectangle",
        "points": box,
        "outside": outside,
        "occluded": occluded,
        "keyframe": True,
        "z_order": 0,
        "rotation": 0.0,
        "attributes": [],
    }


def import_(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    return MotDataset(path)


FORMATS = [Format("MOT", "1.1", "ZIP", "ZIP", export, import_)]
