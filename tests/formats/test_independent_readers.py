"""Independent readers load our exports: pycocotools for COCO, datumaro for what it knows."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from labelvault.formats.base import iter_frames_with_tracks
from labelvault.formats.masks import decode_cvat_mask
from tests.helpers.formats import expected_frames, export_zip

W, H = 40, 30


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_pycocotools_reads_coco(source, tmp_path) -> None:
    coco_mod = pytest.importorskip("pycocotools.coco")
    mask_utils = pytest.importorskip("pycocotools.mask")
    path = export_zip("COCO 1.0", source, tmp_path)
    zipfile.ZipFile(path).extractall(tmp_path / "x")
    coco = coco_mod.COCO(str(tmp_path / "x/annotations/instances_default.json"))
    expected = expected_frames(source)
    want = [
        s
        for _tags, shapes in expected.values()
        for s in shapes
        if s["type"] in ("rectangle", "polygon", "mask", "ellipse")
    ]
    assert len(coco.getAnnIds()) == len(want)
    assert {c["name"] for c in coco.loadCats(coco.getCatIds())} == {"car", "person", "pose"}
    by_name = {img["file_name"]: img["id"] for img in coco.loadImgs(coco.getImgIds())}
    for name, (_tags, shapes) in expected.items():
        anns = coco.loadAnns(coco.getAnnIds(imgIds=[by_name[name]]))
        boxes = sorted(tuple(round(v, 2) for v in a["bbox"]) for a in anns)
        for s in shapes:
            if s["type"] in ("rectangle", "polygon", "mask"):
                if s["type"] == "mask":
                    x1, y1, x2, y2 = s["points"][-4:]
                    x2, y2 = x2 + 1, y2 + 1
                else:
                    xs, ys = s["points"][0::2], s["points"][1::2]
                    x1, y1, x2, y2 = min(xs), min(ys), max(xs), max(ys)
                assert (x1, y1, round(x2 - x1, 2), round(y2 - y1, 2)) in boxes, (name, s)
        for a in anns:
            if a["iscrowd"]:
                # pycocotools decodes our uncompressed RLE into the very same pixels
                rle = mask_utils.frPyObjects(a["segmentation"], H, W)
                bitmap = mask_utils.decode(rle).astype(bool)
                (mask,) = [s for s in shapes if s["type"] == "mask"]
                assert np.array_equal(bitmap, decode_cvat_mask(mask["points"], W, H))
                assert mask_utils.area(rle) == a["area"]


def _datumaro_python() -> str | None:
    """An interpreter with datumaro: ours, $DATUMARO_PYTHON or the side venv `make test` makes.

    datumaro pins pillow~=12 while the project runs on newer Pillow, so it usually lives
    in its own virtualenv and runs as a subprocess.
    """
    repo_venv = str(Path(__file__).resolve().parents[2] / ".venv-datumaro" / "bin" / "python")
    candidates = [os.environ.get("DATUMARO_PYTHON"), sys.executable, repo_venv]
    for py in candidates:
        if not py or not shutil.which(py):
            continue
        probe = subprocess.run([py, "-c", "import datumaro"], capture_output=True, timeout=120)
        if probe.returncode == 0:
            return py
    return None


DATUMARO_FORMATS = {
    "CVAT for images 1.1": "cvat",
    "COCO 1.0": "coco_instances",
    "COCO Keypoints 1.0": "coco_person_keypoints",
    "YOLO 1.1": "yolo",
    "PASCAL VOC 1.1": "voc",
    # datumaro's Ultralytics reader only understands detection, in flat image folders
    "Ultralytics YOLO Detection 1.0": "yolo",
}
KEEPS = {
    # upstream datumaro's CVAT reader skips ellipses and flattens skeletons into points
    "CVAT for images 1.1": {"rectangle", "polygon", "mask", "points", "skeleton", "tag"},
    "COCO 1.0": {"rectangle", "polygon", "mask", "ellipse"},
    "COCO Keypoints 1.0": {"skeleton"},
    "YOLO 1.1": {"rectangle"},
    # VOC detection: a box per rectangle (a rotated one by its bounds), a label per tag
    "PASCAL VOC 1.1": {"rectangle", "tag"},
    "Ultralytics YOLO Detection 1.0": {"rectangle"},
}


def test_datumaro_reads_exports(source, tmp_path) -> None:
    py = _datumaro_python()
    if py is None:
        pytest.skip("datumaro is not installed (set DATUMARO_PYTHON to a python that has it)")
    # nested frame names trip datumaro's Ultralytics reader; use flat names for all
    source.frame_list[1][0].name = "img_1.png"
    args: list[str] = []
    for fmt, dm_fmt in DATUMARO_FORMATS.items():
        root = tmp_path / fmt.replace(" ", "_")
        zipfile.ZipFile(export_zip(fmt, source, tmp_path)).extractall(root)
        args += [str(root), dm_fmt]
    probe = Path(__file__).with_name("datumaro_probe.py")
    run = subprocess.run([py, str(probe), *args], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    results = json.loads(run.stdout)
    expected = expected_frames(source)
    for (fmt, dm_fmt), key in zip(DATUMARO_FORMATS.items(), results, strict=True):
        data = results[key]
        items = {Path(i["id"]).name: i for i in data["items"]}
        assert set(items) == {Path(n).stem for n in expected}, fmt
        for name, (tags, shapes) in expected.items():
            kept = [s for s in shapes if s["type"] in KEEPS[fmt]]
            if "tag" in KEEPS[fmt]:
                kept += [{"type": "tag", "label": t["label"]} for t in tags]
            got = items[Path(name).stem]["annotations"]
            if dm_fmt.startswith("coco"):
                # datumaro gives every COCO object a bbox, plus its segment/keypoints if any
                boxes = Counter(a["label"] for a in got if a["type"] == "bbox")
                assert boxes == Counter(s["label"] for s in kept), (fmt, name, got)
                got = [a for a in got if a["type"] != "bbox"]
                kept = [s for s in kept if s["type"] != "rectangle"]
            if fmt == "CVAT for images 1.1":
                want = Counter(
                    lab
                    for s in kept
                    for lab in (
                        [e["label"] for e in s["elements"]]
                        if s["type"] == "skeleton"
                        else [s["label"]]
                    )
                )
            else:
                want = Counter(s["label"] for s in kept)
            assert Counter(a["label"] for a in got) == want, (fmt, name, got)
        if fmt in ("YOLO 1.1", "Ultralytics YOLO Detection 1.0"):
            boxes = items["img_0"]["annotations"]
            assert sorted(a["bbox"] for a in boxes) == [
                [2.0, 3.0, 10.0, 7.0],
                [20.0, 20.0, 10.0, 8.0],
            ]


def test_datumaro_reads_datumaro_json(source, tmp_path) -> None:
    py = _datumaro_python()
    if py is None:
        pytest.skip("datumaro is not installed (set DATUMARO_PYTHON to a python that has it)")
    # upstream datumaro has no "skeleton" annotation type (CVAT's fork does): leave it out
    info, tags, shapes = source.frame_list[2]
    source.frame_list[2] = (info, tags, [s for s in shapes if s["type"] != "skeleton"])
    root = tmp_path / "dm"
    zipfile.ZipFile(export_zip("Datumaro 1.0", source, tmp_path)).extractall(root)
    probe = Path(__file__).with_name("datumaro_probe.py")
    run = subprocess.run(
        [py, str(probe), str(root), "datumaro"], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (data,) = json.loads(run.stdout).values()
    items = {i["id"]: i for i in data["items"]}
    expected = expected_frames(source)
    assert set(items) == {n.rsplit(".", 1)[0] for n in expected}
    dm_types = {
        "rectangle": "bbox",
        "ellipse": "ellipse",
        "polygon": "polygon",
        "mask": "mask",
        "points": "points",
    }
    for name, (tags, shapes) in expected.items():
        got = items[name.rsplit(".", 1)[0]]["annotations"]
        want = Counter((dm_types[s["type"]], s["label"]) for s in shapes)
        want += Counter(("label", t["label"]) for t in tags)
        have = Counter(
            ("bbox" if a["type"] == "rotated_bbox" else a["type"], a["label"]) for a in got
        )
        assert have == want, (name, got)
    boxes = [a["bbox"] for a in items["img_0"]["annotations"] if a["type"] == "bbox"]
    assert [2.0, 3.0, 10.0, 7.0] in boxes


CVAT_READER_KINDS = {
    "rectangle": "Bbox",
    "polygon": "Polygon",
    "polyline": "PolyLine",
    "points": "Points",
    "skeleton": "Skeleton",
}


def test_cvat_reader_reads_video_exports(source, tmp_path) -> None:
    """CVAT's own reader on CVAT for video 1.1: every frame's visible objects and tags.

    A video dump has no <image> per frame, so the reader names items by frame number;
    shapes travel as one-frame tracks, whose "outside" frame the reader keeps as such.
    """
    py = _datumaro_python()
    if py is None:
        pytest.skip("datumaro is not installed (set DATUMARO_PYTHON to a python that has it)")
    from tests.formats.test_cvat_project_export import cvat_source

    cvat = cvat_source()
    root = tmp_path / "video"
    zipfile.ZipFile(export_zip("CVAT for video 1.1", source, tmp_path)).extractall(root)
    probe = Path(__file__).with_name("cvat_probe.py")
    xml = str(root / "annotations.xml")
    run = subprocess.run([py, str(probe), cvat, xml], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-3000:]
    got: dict[int, Counter] = {}
    for item in json.loads(run.stdout)[xml]["items"]:
        visible = [a for a in item["annotations"] if not a["outside"]]
        got.setdefault(item["frame"], Counter()).update((a["type"], a["label"]) for a in visible)
    for info, tags, shapes in iter_frames_with_tracks(source):
        want = Counter(
            (CVAT_READER_KINDS[s["type"]], s["label"])
            for s in shapes
            if s["type"] in CVAT_READER_KINDS
        )
        want.update(("Label", t["label"]) for t in tags)
        assert got.get(info.frame, Counter()) == want, (info.frame, got.get(info.frame))
