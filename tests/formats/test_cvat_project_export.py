"""A project exported in CVAT for images 1.1 reads with CVAT's own project reader.

CVAT imports a project dataset with its CvatExtractor (run from a CVAT checkout named by
$CVAT_SOURCE, see cvat_probe.py; skipped without one): it finds
the subsets in <meta>, each subset's images under images/<subset>/, and creates the
project's tasks from those files; an item without its image brings no annotations in.
"""

from __future__ import annotations

import json
import os
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import pytest

from labelvault.formats.base import (
    FrameInfo,
    NameMangler,
    SourceMeta,
    defaulted_subset,
    iter_frames_with_tracks,
)
from tests.formats.conftest import MemorySource, build_source
from tests.formats.test_independent_readers import _datumaro_python
from tests.helpers.formats import export_zip, import_all

CVAT_KINDS = {"rectangle": "Bbox", "polygon": "Polygon", "points": "Points", "skeleton": "Skeleton"}


def project_source() -> MemorySource:
    """Three tasks: two without a subset (one repeats an image name), one in "Train"."""
    src = build_source()
    tasks = [
        SourceMeta(name="a", id=11, size=2, subset=""),
        SourceMeta(name="b", id=12, size=1, subset="Train"),
        SourceMeta(name="c", id=13, size=1, subset=""),
    ]
    src.meta = SourceMeta(name="proj", id=3, size=4, kind="project", tasks=tasks)
    for info, task in zip(
        [f[0] for f in src.frame_list], (tasks[0], tasks[0], tasks[1]), strict=True
    ):
        info.task_id, info.subset = task.id, task.subset
    first = src.frame_list[0]
    again = FrameInfo(3, "img_0.png", first[0].width, first[0].height, "", first[0].open_image, 13)
    shapes = [dict(s, frame=3) for s in first[2] if s["type"] == "rectangle"]
    src.frame_list.append((again, [], shapes))
    for track in src.track_list:
        # a track stays within its task's frames (0 and 1 here)
        track.update(task_id=11, subset="")
        track["shapes"][1].update(frame=1, outside=True)
    return src


def test_subset_rules_follow_cvat() -> None:
    assert defaulted_subset("", ["", "Train"]) == "default"
    assert defaulted_subset("", ["default", ""]) == "default_1"
    assert defaulted_subset("Train", [""]) == "Train"
    mangle = NameMangler()
    assert [mangle(n, "default") for n in ("a.jpg", "a.jpg", "a.jpg", "a_1.jpg")] == [
        "a.jpg",
        "a_1.jpg",
        "a_2.jpg",
        "a_1_1.jpg",
    ]
    assert mangle("a.jpg", "Train") == "a.jpg"


def test_project_layout_is_cvats(tmp_path) -> None:
    src = project_source()
    zf = zipfile.ZipFile(export_zip("CVAT for images 1.1", src, tmp_path))
    names = set(zf.namelist())
    assert {
        "images/default/img_0.png",
        "images/default/sub/img_1.png",
        "images/Train/img_2.png",
        "images/default/img_0_1.png",
    } <= names
    xml = zf.read("annotations.xml").decode()
    assert "<subsets>default\nTrain</subsets>" in xml
    assert xml.count("<subset>") == 3
    assert 'name="img_0_1.png" subset="default" task_id="13"' in xml


def cvat_source() -> str:
    """A CVAT source checkout for CVAT's own reader ($CVAT_SOURCE), or skip."""
    path = os.environ.get("CVAT_SOURCE", "")
    if not (Path(path) / "cvat/apps/dataset_manager/formats/cvat.py").is_file():
        pytest.skip("CVAT's reader needs a CVAT checkout: set CVAT_SOURCE to one")
    return path


def test_cvat_reader_gets_every_shape(tmp_path) -> None:
    py = _datumaro_python()
    if py is None:
        pytest.skip("datumaro is not installed (set DATUMARO_PYTHON to a python that has it)")
    cvat = cvat_source()
    src = project_source()
    root = tmp_path / "x"
    zipfile.ZipFile(export_zip("CVAT for images 1.1", src, tmp_path)).extractall(root)
    probe = Path(__file__).with_name("cvat_probe.py")
    xml = str(root / "annotations.xml")
    run = subprocess.run([py, str(probe), cvat, xml], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    items = {(i["subset"], i["id"]): i for i in json.loads(run.stdout)[xml]["items"]}
    expected = {info.frame: (tags, shapes) for info, tags, shapes in iter_frames_with_tracks(src)}
    # CVAT's reader lists only the top level of images/<subset>/; a nested frame keeps its
    # whole name as the id, with its image found by that path
    places = {0: ("default", "img_0"), 1: ("default", "sub/img_1.png")}
    places |= {2: ("Train", "img_2"), 3: ("default", "img_0_1")}
    assert set(items) == set(places.values())
    total = 0
    for info, _tags, _shapes in src.frame_list:
        item = items[places[info.frame]]
        assert item["has_image"], item  # CVAT makes the project's tasks from these files
        tags, shapes = expected[info.frame]
        want = Counter(CVAT_KINDS[s["type"]] for s in shapes if s["type"] in CVAT_KINDS)
        want += Counter("Label" for _ in tags)
        got = Counter(a["type"] for a in item["annotations"])
        assert got == want, (info.name, item["annotations"])
        total += sum(want.values())
    assert total >= 8


def test_upstream_datumaro_reads_project_subsets(tmp_path) -> None:
    py = _datumaro_python()
    if py is None:
        pytest.skip("datumaro is not installed (set DATUMARO_PYTHON to a python that has it)")
    src = project_source()
    root = tmp_path / "x"
    zipfile.ZipFile(export_zip("CVAT for images 1.1", src, tmp_path)).extractall(root)
    probe = Path(__file__).with_name("datumaro_probe.py")
    run = subprocess.run(
        [py, str(probe), str(root), "cvat"], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-3000:]
    (data,) = json.loads(run.stdout).values()
    assert Counter(i["subset"] for i in data["items"]) == {"default": 3, "Train": 1}
    # every object of each task's frames, in its subset (datumaro's reader skips ellipses
    # and reads a skeleton as its points)
    items = {(i["subset"], Path(i["id"]).name): i for i in data["items"]}
    expected = {info.frame: (tags, shapes) for info, tags, shapes in iter_frames_with_tracks(src)}
    places = {0: ("default", "img_0"), 1: ("default", "img_1")}
    places |= {2: ("Train", "img_2"), 3: ("default", "img_0_1")}
    for frame, (tags, shapes) in expected.items():
        want = Counter(
            lab
            for s in shapes
            if s["type"] != "ellipse"
            for lab in ([e["label"] for e in s["elements"]] if s["elements"] else [s["label"]])
        )
        want.update(t["label"] for t in tags)
        got = Counter(a["label"] for a in items[places[frame]]["annotations"])
        assert got == want, (frame, items[places[frame]]["annotations"])


def test_project_export_imports_back_here(tmp_path) -> None:
    src = project_source()
    frames, _tracks, _labels = import_all(
        "CVAT 1.1", export_zip("CVAT for images 1.1", src, tmp_path)
    )
    assert {(f.subset, f.name, f.task_id) for f in frames.values()} == {
        ("default", "img_0.png", 11),
        ("default", "sub/img_1.png", 11),
        ("Train", "img_2.png", 12),
        ("default", "img_0_1.png", 13),
    }
