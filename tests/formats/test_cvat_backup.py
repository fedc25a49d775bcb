"""The CVAT v1.0 backup layout alone: annotations.json streaming, task.json and data/ checks."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from labelvault.formats import FormatError
from labelvault.formats.cvat_backup import (
    data_files,
    extract,
    iter_job_annotations,
    manifest_header,
    manifest_line,
    read_meta,
    write_job_annotations,
)


def _shape(frame: int, **extra: object) -> dict:
    return {
        "type": "rectangle",
        "label": "car",
        "frame": frame,
        "points": [1.0, 2.0, 3.0, 4.0],
        "occluded": False,
        "outside": False,
        "z_order": 0,
        "rotation": 0.0,
        "group": 0,
        "source": "manual",
        "attributes": [],
        "elements": [],
        **extra,
    }


def test_job_annotations_stream_back_object_by_object() -> None:
    out = io.BytesIO()
    tag = {"label": "day", "frame": 0, "attributes": [], "group": 0, "source": "manual"}
    track = {
        "label": "car",
        "frame": 1,
        "shapes": [{**_shape(1), "keyframe": True}],
        "elements": [],
    }
    out.write(b"[")
    write_job_annotations(out, 3, [tag], [_shape(0, internal="dropped"), _shape(2)], [track])
    out.write(b",")
    write_job_annotations(out, 1, [], [], [])
    out.write(b"]")
    doc = json.loads(out.getvalue())
    assert doc[0]["version"] == 3 and doc[0]["intervals"] == []
    assert "internal" not in doc[0]["shapes"][0]  # only the keys CVAT's backup has
    assert "keyframe" not in doc[0]["tracks"][0]["shapes"][0]
    objects = list(iter_job_annotations(io.StringIO(out.getvalue().decode())))
    assert [(i, kind, obj["frame"]) for i, kind, obj in objects] == [
        (0, "tags", 0),
        (0, "shapes", 0),
        (0, "shapes", 2),
        (0, "tracks", 1),
    ]


def test_malformed_annotations_json_names_the_file() -> None:
    with pytest.raises(FormatError, match="a.json: malformed JSON"):
        list(iter_job_annotations(io.StringIO('[{"shapes": [{"a": }]}]'), "a.json"))


def test_task_json_must_be_version_1_0(tmp_path: Path) -> None:
    meta = tmp_path / "task.json"
    with pytest.raises(FormatError, match="missing"):
        read_meta(meta)
    meta.write_text(json.dumps({"version": "2.0"}))
    with pytest.raises(FormatError, match="version '2.0' is not supported"):
        read_meta(meta)
    meta.write_text(json.dumps({"version": "1.0", "name": "t"}))
    assert read_meta(meta)["name"] == "t"


def test_data_files_follow_the_manifest_order(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("b.png", "a.png"):
        (data / name).write_bytes(b"x")
    lines = manifest_header() + [manifest_line("b.png", 4, 3), manifest_line("a.png", 4, 3)]
    (data / "manifest.jsonl").write_text("\n".join(lines) + "\n")
    assert [p.name for p in data_files(data, lambda n: n.endswith(".png"))] == ["b.png", "a.png"]
    (data / "a.png").unlink()
    with pytest.raises(FormatError, match="lacks images"):
        data_files(data, lambda n: n.endswith(".png"))


def test_extract_unwraps_one_top_folder(tmp_path: Path) -> None:
    archive = tmp_path / "backup.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("wrapped/task.json", "{}")
    root = extract(archive, tmp_path / "out")
    assert root.name == "wrapped" and (root / "task.json").is_file()
    not_zip = tmp_path / "x.zip"
    not_zip.write_bytes(b"nope")
    with pytest.raises(FormatError, match="not a zip archive"):
        extract(not_zip, tmp_path / "out2")
