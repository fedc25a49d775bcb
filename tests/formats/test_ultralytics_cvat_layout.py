"""Ultralytics YOLO Classification and Pose as CVAT writes and reads them."""

from __future__ import annotations

import json
import zipfile

from labelvault.formats.base import make_tag
from tests.formats.conftest import build_source
from tests.helpers.formats import export_zip, import_all

CLS = "Ultralytics YOLO Classification 1.0"
POSE = "Ultralytics YOLO Pose 1.0"


def test_classification_with_images_holds_every_image(source, tmp_path) -> None:
    # a second tag on img_0 and a tag on the nested frame whose base name repeats
    source.frame_list[0][1].append(make_tag("car", 0))
    source.frame_list[1][1].append(make_tag("person", 1))
    source.frame_list[1][0].name = "sub/img_0.png"
    zf = zipfile.ZipFile(export_zip(CLS, source, tmp_path))
    images = sorted(n for n in zf.namelist() if n.endswith(".png"))
    assert images == [
        "train/car/img_0.png",
        "train/no_label/img_2.png",
        "train/person/img_0.0.png",
        "train/person/img_0.png",
    ]
    assert all(zf.getinfo(n).file_size > 0 for n in images)
    labels = json.loads(zf.read("train/labels.json"))
    assert labels == {
        "img_0": {"labels": ["person", "car"], "path": "car/img_0.png"},
        "sub/img_0": {"labels": ["person"], "path": "person/img_0.0.png"},
        "img_2": {"labels": [], "path": "no_label/img_2.png"},
    }
    frames, _t, got_labels = import_all(CLS, export_zip(CLS, source, tmp_path))
    assert {n: sorted(t["label"] for t in f.tags) for n, f in frames.items()} == {
        "img_0.png": ["car", "person"],
        "sub/img_0.png": ["person"],
        "img_2.png": [],
    }
    assert set(got_labels) == {"car", "person"}


def test_classification_without_images_keeps_the_tags(source, tmp_path) -> None:
    path = export_zip(CLS, source, tmp_path, save_images=False)
    assert zipfile.ZipFile(path).namelist() == ["train/labels.json"]
    frames, _t, _l = import_all(CLS, path)
    assert [t["label"] for t in frames["img_0.png"].tags] == ["person"]


def test_pose_without_skeletons_imports_back(tmp_path) -> None:
    src = build_source()
    src.labels = [lb for lb in src.labels if lb.type != "skeleton"]
    path = export_zip(POSE, src, tmp_path)
    assert "names: {}" in zipfile.ZipFile(path).read("data.yaml").decode()
    frames, tracks, labels = import_all(POSE, path)
    assert set(frames) == {"img_0.png", "sub/img_1.png", "img_2.png"}
    assert not labels and not tracks
    assert all(not f.shapes for f in frames.values())
