"""ImageNet 1.0: one folder per label holding the images tagged with it (no_label/ for none).

Expresses frame tags only. Cannot express shapes, attributes, tag groups or sources.
Without images, each image is written as an empty placeholder file of the same name, so
the label → image mapping survives an annotations-only export.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import IO

from .base import (
    ExportSource,
    Format,
    FormatError,
    FrameSizeLookup,
    ImportedDataset,
    ImportedFrame,
    make_tag,
    open_zip_out,
    zip_write_image,
    zip_write_text,
)

NO_LABEL = "no_label"


def export(source: ExportSource, out: IO[bytes], save_images: bool) -> None:
    with open_zip_out(out) as zf:
        for info, tags, _shapes in source.frames():
            labels = list(dict.fromkeys(t["label"] for t in tags)) or [NO_LABEL]
            for label in labels:
                arcname = f"{label}/{info.name}"
                if not (save_images and zip_write_image(zf, arcname, info)):
                    zip_write_text(zf, arcname, "")


class ImageNetDataset(ImportedDataset):
    def __init__(self, root: Path) -> None:
        super().__init__()
        if not root.is_dir():
            raise FormatError("an ImageNet dataset is a zip of label folders")
        self.root = root
        self.dirs = sorted(p for p in root.iterdir() if p.is_dir())
        if not self.dirs:
            raise FormatError("no label folders found: not an ImageNet archive")
        for d in self.dirs:
            if d.name != NO_LABEL:
                self.see_label(d.name, "tag")

    def frames(self) -> Iterator[ImportedFrame]:
        items: dict[str, ImportedFrame] = {}
        for d in self.dirs:
            for path in sorted(p for p in d.rglob("*") if p.is_file()):
                name = str(PurePosixPath(path.relative_to(d).as_posix()))
                item = items.setdefault(name, ImportedFrame(name=name))
                if d.name != NO_LABEL:
                    item.tags.append(make_tag(d.name, 0))
        yield from items.values()


def import_(path: Path, *, frame_size: FrameSizeLookup | None = None) -> ImportedDataset:
    return ImageNetDataset(path)


FORMATS = [Format("ImageNet", "1.0", "ZIP", "ZIP", export, import_)]
