"""CamVid 1.0: CVAT's layout, a round trip through our reader, and datumaro's camvid reader."""

from __future__ import annotations

import json
import subprocess
import zipfile
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from labelvault.formats.masks import decode_cvat_mask
from tests.formats.conftest import HEIGHT, WIDTH
from tests.formats.test_independent_readers import _datumaro_python
from tests.helpers.formats import expected_frames, export_zip, import_all

PAINTED = ("rectangle", "polygon", "ellipse", "mask")


def test_layout_is_cvats(source, tmp_path) -> None:
    zf = zipfile.ZipFile(export_zip("CamVid 1.0", source, tmp_path))
    names = set(zf.namelist())
    assert {
        "label_colors.txt",
        "default.txt",
        "default/img_0.png",
        "default/sub/img_1.png",
        "defaultannot/img_0.png",
        "defaultannot/sub/img_1.png",
        "defaultannot/img_2.png",
    } <= names
    colors = zf.read("label_colors.txt").decode().splitlines()
    # background first in black, then the labels by name with their own colours
    assert colors[0] == "0 0 0 background"
    assert colors[1:4] == ["255 0 0 car", "0 255 0 person", "0 0 255 pose"]
    lines = zf.read("default.txt").decode().splitlines()
    assert lines[0] == "/default/img_0.png defaultannot/img_0.png"
    assert lines[1] == "/default/sub/img_1.png defaultannot/sub/img_1.png"


def test_roundtrip_gives_one_mask_per_label(source, tmp_path) -> None:
    frames, _tracks, labels = import_all("CamVid 1.0", export_zip("CamVid 1.0", source, tmp_path))
    assert set(labels) == {"car", "person", "pose"}
    expected = expected_frames(source)
    assert set(frames) == set(expected)  # the image's name as listed, matched to frames
    for name, (_tags, shapes) in expected.items():
        got = frames[name]
        want = {s["label"] for s in shapes if s["type"] in PAINTED}
        assert sorted(s["label"] for s in got.shapes) == sorted(want), name
        assert {s["type"] for s in got.shapes} <= {"mask"}
    # the mask of sub/img_1 is the person's mask exactly (the ellipse is the car's)
    (mask,) = [s for s in frames["sub/img_1.png"].shapes if s["label"] == "person"]
    (orig,) = [s for s in expected["sub/img_1.png"][1] if s["type"] == "mask"]
    assert np.array_equal(
        decode_cvat_mask(mask["points"], WIDTH, HEIGHT),
        decode_cvat_mask(orig["points"], WIDTH, HEIGHT),
    )


def test_subset_folders_and_spaces(source, tmp_path) -> None:
    info = source.frame_list[0][0]
    info.name, info.subset = "my img.png", "Train"
    zf = zipfile.ZipFile(export_zip("CamVid 1.0", source, tmp_path))
    assert "Train/my img.png" in zf.namelist() and "Trainannot/my img.png" in zf.namelist()
    assert zf.read("Train.txt").decode() == '"/Train/my img.png" "Trainannot/my img.png"\n'
    frames, _t, _l = import_all("CamVid 1.0", export_zip("CamVid 1.0", source, tmp_path))
    assert frames["my img.png"].subset == "Train" and frames["my img.png"].shapes


def test_datumaro_reads_camvid(source, tmp_path) -> None:
    py = _datumaro_python()
    if py is None:
        pytest.skip("datumaro is not installed (set DATUMARO_PYTHON to a python that has it)")
    root = tmp_path / "camvid"
    zipfile.ZipFile(export_zip("CamVid 1.0", source, tmp_path)).extractall(root)
    probe = Path(__file__).with_name("datumaro_probe.py")
    run = subprocess.run(
        [py, str(probe), str(root), "camvid"], capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-2000:]
    (data,) = json.loads(run.stdout).values()
    items = {i["id"]: i for i in data["items"]}
    expected = expected_frames(source)
    assert set(items) == {n.rsplit(".", 1)[0] for n in expected}
    for name, (_tags, shapes) in expected.items():
        got = Counter(a["label"] for a in items[name.rsplit(".", 1)[0]]["annotations"])
        # datumaro also reports the background label that CVAT's file lists
        got.pop("background", None)
        assert got == Counter({s["label"] for s in shapes if s["type"] in PAINTED}), name
