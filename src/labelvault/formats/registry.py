"""Registry of dataset formats under CVAT's exact display names ("NAME VERSION")."""

from __future__ import annotations

import contextlib
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from . import coco, cvat_xml, ultralytics, yolo
from .base import Exporter, Format, FormatError, ImportedDataset, Importer
from .safety import safe_extract_zip

_FORMATS: list[Format] = [
    Format("CVAT for images", "1.1", export_ext="ZIP", exporter=cvat_xml.export_images),
    Format("CVAT for video", "1.1", export_ext="ZIP", exporter=cvat_xml.export_video),
    Format("CVAT", "1.1", import_ext="XML, ZIP", importer=cvat_xml.import_cvat),
    Format(
        "COCO",
        "1.0",
        export_ext="ZIP",
        import_ext="JSON, ZIP",
        exporter=coco.export_instances,
        importer=coco.import_instances,
    ),
    Format(
        "COCO Keypoints",
        "1.0",
        export_ext="ZIP",
        import_ext="JSON, ZIP",
        exporter=coco.export_keypoints,
        importer=coco.import_keypoints,
    ),
    Format("YOLO", "1.1", "ZIP", "ZIP", yolo.export, yolo.import_),
]
for _task, _exp, _imp in (
    ("Detection", ultralytics.export_detection, ultralytics.import_detection),
    ("Segmentation", ultralytics.export_segmentation, ultralytics.import_segmentation),
    ("Oriented Bounding Boxes", ultralytics.export_obb, ultralytics.import_obb),
    ("Pose", ultralytics.export_pose, ultralytics.import_pose),
    ("Classification", ultralytics.export_classification, ultralytics.import_classification),
):
    _FORMATS.append(Format(f"Ultralytics YOLO {_task}", "1.0", "ZIP", "ZIP", _exp, _imp))


def _optional_formats() -> list[Format]:
    """Formats in their own modules; a module that fails to import must not break the rest."""
    import importlib

    out: list[Format] = []
    for mod_name in (
        "voc",
        "datumaro",
        "labelme",
        "imagenet",
        "segmentation_mask",
        "camvid",
        "mot",
    ):
        try:
            mod = importlib.import_module(f"{__package__}.{mod_name}")
        except ModuleNotFoundError as e:
            if e.name and e.name.endswith(f".{mod_name}"):
                continue  # not written yet
            raise
        out += mod.FORMATS
    return out


_FORMATS += _optional_formats()

FORMATS: dict[str, Format] = {f.display_name: f for f in _FORMATS}


def get_exporter(name: str) -> Exporter:
    fmt = FORMATS.get(name)
    if fmt is None or fmt.exporter is None:
        raise KeyError(f"unknown export format {name!r}")
    return fmt.exporter


def get_importer(name: str) -> Importer:
    fmt = FORMATS.get(name)
    if fmt is None or fmt.importer is None:
        raise KeyError(f"unknown import format {name!r}")
    return fmt.importer


def list_formats() -> dict[str, list[dict[str, Any]]]:
    """The body of CVAT's ``GET /api/server/annotation/formats``."""

    def entry(f: Format, ext: str | None) -> dict[str, Any]:
        return {
            "name": f.display_name,
            "ext": ext,
            "version": f.version,
            "enabled": f.enabled,
            "dimension": f.dimension,
        }

    return {
        "importers": [entry(f, f.import_ext) for f in _FORMATS if f.importer],
        "exporters": [entry(f, f.export_ext) for f in _FORMATS if f.exporter],
    }


@contextlib.contextmanager
def open_dataset(name: str, path: Path, **kwargs: Any) -> Iterator[ImportedDataset]:
    """Import ``path`` (a zip, a single annotation file or a directory) with format ``name``.

    Zips are extracted safely into a temporary directory that lives as long as the context,
    since the returned dataset reads its files lazily.
    """
    importer = get_importer(name)
    if path.is_file() and zipfile.is_zipfile(path):
        with tempfile.TemporaryDirectory(prefix="labelvault-import-") as tmp:
            root = safe_extract_zip(path, Path(tmp))
            yield importer(root, **kwargs)
    elif path.exists():
        yield importer(path, **kwargs)
    else:
        raise FormatError(f"{path.name}: file not found")
