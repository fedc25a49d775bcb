"""Shared helpers for format tests: export to a zip, import it back, canonical shapes."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path
from typing import Any

from labelvault.formats import get_exporter, open_dataset
from labelvault.formats.base import ExportSource, attr_dict, iter_frames_with_tracks


def export_zip(fmt: str, source: ExportSource, tmp_path: Path, save_images: bool = True) -> Path:
    buf = io.BytesIO()
    get_exporter(fmt)(source, buf, save_images)
    out = tmp_path / f"{fmt.replace(' ', '_')}.zip"
    out.write_bytes(buf.getvalue())
    assert zipfile.ZipFile(out).testzip() is None
    return out


def import_all(fmt: str, path: Path, **kwargs: Any) -> tuple[dict, list, dict]:
    """Frames by name, tracks and labels of an imported dataset."""
    with open_dataset(fmt, path, **kwargs) as ds:
        frames = {f.name: f for f in ds.frames()}
        tracks = list(ds.tracks())
        return frames, tracks, dict(ds.labels)


def expected_frames(source: ExportSource) -> dict[str, tuple[list, list]]:
    return {info.name: (tags, shapes) for info, tags, shapes in iter_frames_with_tracks(source)}


def canon(shape: dict, digits: int = 1, attrs: bool = True, flags: bool = True) -> tuple:
    els = tuple(
        sorted(
            (
                e["label"],
                tuple(round(p, digits) for p in e["points"]),
                bool(e.get("outside")),
                bool(e.get("occluded")) if flags else False,
            )
            for e in shape.get("elements") or ()
        )
    )
    return (
        shape["label"],
        shape["type"],
        tuple(round(p, digits) for p in shape["points"]),
        tuple(sorted(attr_dict(shape).items())) if attrs else (),
        bool(shape.get("occluded")) if flags else False,
        round(float(shape.get("rotation") or 0), 1) if flags else 0.0,
        els,
    )


def canon_set(shapes: list, **kw: Any) -> list:
    return sorted(canon(s, **kw) for s in shapes)
