"""Export the synthetic source in each format and import it back with our own importers."""

from __future__ import annotations

import numpy as np
import pytest

from labelvault.formats import FORMATS, list_formats
from labelvault.formats.base import track_shape_at
from labelvault.formats.masks import decode_cvat_mask, polygon_to_bitmap
from tests.helpers.formats import canon, canon_set, expected_frames, export_zip, import_all

W, H = 40, 30


def test_registry_lists_cvat_names() -> None:
    listed = list_formats()
    exporters = {f["name"]: f for f in listed["exporters"]}
    importers = {f["name"]: f for f in listed["importers"]}
    assert exporters["CVAT for images 1.1"]["ext"] == "ZIP"
    assert importers["CVAT 1.1"]["ext"] == "XML, ZIP"
    assert importers["COCO 1.0"]["ext"] == "JSON, ZIP"
    assert "CVAT 1.1" not in exporters
    for entry in listed["importers"] + listed["exporters"]:
        assert set(entry) == {"name", "ext", "version", "enabled", "dimension"}
        assert entry["dimension"] == "2d" and entry["enabled"] is True
        assert entry["name"] in FORMATS


def test_cvat_images_roundtrip(source, tmp_path) -> None:
    path = export_zip("CVAT for images 1.1", source, tmp_path)
    frames, tracks, labels = import_all("CVAT 1.1", path)
    assert tracks == []
    expected = expected_frames(source)
    assert set(frames) == set(expected)
    for name, (tags, shapes) in expected.items():
        got = frames[name]
        assert canon_set(got.shapes, digits=2) == canon_set(shapes, digits=2), name
        assert sorted((t["label"], str(t["attributes"])) for t in got.tags) == sorted(
            (t["label"], str(t["attributes"])) for t in tags
        )
    # label schema survives, including attribute specs and the skeleton
    assert labels["car"].attributes[0].values == ["red", "blue"]
    assert labels["car"].attributes[1].mutable is True
    assert [s.name for s in labels["pose"].sublabels] == ["head", "hand"]
    assert "data-node-from" in labels["pose"].svg
    # image ids keep frame numbers; images are in the archive
    assert frames["sub/img_1.png"].frame == 1
    import zipfile

    assert "images/sub/img_1.png" in zipfile.ZipFile(path).namelist()


def test_cvat_video_roundtrip(source, tmp_path) -> None:
    path = export_zip("CVAT for video 1.1", source, tmp_path)
    frames, tracks, _ = import_all("CVAT 1.1", path)
    # 1 real track + 7 shapes as single-frame tracks
    assert len(tracks) == 8
    real = tracks[0]
    assert [s["frame"] for s in real["shapes"]] == [0, 2]
    got = {f: [] for f in range(3)}
    for t in tracks:
        for f in range(3):
            s = track_shape_at(t, f)
            if s is not None:
                got[f].append(s)
    for name, (_tags, shapes) in expected_frames(source).items():
        frame = int(name[-5])
        assert canon_set(got[frame], digits=2) == canon_set(shapes, digits=2), name
    tag_frames = [f for f in frames.values() if f.tags]
    assert [(f.frame, f.tags[0]["label"]) for f in tag_frames] == [(0, "person")]


def test_coco_roundtrip(source, tmp_path) -> None:
    path = export_zip("COCO 1.0", source, tmp_path)
    frames, _, labels = import_all("COCO 1.0", path)
    expected = expected_frames(source)
    assert set(frames) == set(expected)
    for name, (_tags, shapes) in expected.items():
        got = frames[name].shapes
        want = [s for s in shapes if s["type"] in ("rectangle", "polygon", "mask", "ellipse")]
        assert sorted(s["label"] for s in got) == sorted(s["label"] for s in want), name
        exact = [s for s in want if s["type"] != "ellipse"]
        attrs_kw = {"digits": 2}
        got_exact = [s for s in got if canon(s, **attrs_kw)[1:3] != ("polygon", ())]
        for s in exact:
            if s["type"] == "mask":
                m = [g for g in got if g["type"] == "mask"]
                assert len(m) == 1
                assert np.array_equal(
                    decode_cvat_mask(m[0]["points"], W, H), decode_cvat_mask(s["points"], W, H)
                )
            else:
                plain = {k: v for k, v in s.items() if k != "track_id"}
                assert canon(plain, **attrs_kw) in [canon(g, **attrs_kw) for g in got_exact], s
    assert labels["car"].type == "any"


def test_coco_keypoints_roundtrip(source, tmp_path) -> None:
    path = export_zip("COCO Keypoints 1.0", source, tmp_path)
    frames, _, labels = import_all("COCO Keypoints 1.0", path)
    assert [s.name for s in labels["pose"].sublabels] == ["head", "hand"]
    for name, (_tags, shapes) in expected_frames(source).items():
        want = [s for s in shapes if s["type"] == "skeleton"]
        assert canon_set(frames[name].shapes, attrs=False) == canon_set(want, attrs=False)


def _boxes(shapes: list, rotated_as_bounds: bool = True) -> list:
    from labelvault.formats.base import make_shape, shape_bbox

    out = []
    for s in shapes:
        if s["type"] == "rectangle":
            out.append(make_shape("rectangle", s["label"], 0, shape_bbox(s)))
    return canon_set(out, attrs=False, flags=False)


@pytest.mark.parametrize("fmt", ["YOLO 1.1", "Ultralytics YOLO Detection 1.0"])
def test_box_formats_roundtrip(fmt, source, tmp_path) -> None:
    path = export_zip(fmt, source, tmp_path)
    frames, _, labels = import_all(fmt, path)
    expected = expected_frames(source)
    assert set(frames) == set(expected)
    for name, (_tags, shapes) in expected.items():
        assert canon_set(frames[name].shapes, attrs=False, flags=False) == _boxes(shapes)
    assert set(labels) == {"car", "person", "pose"}


def test_yolo_without_images_uses_frame_size(source, tmp_path) -> None:
    path = export_zip("YOLO 1.1", source, tmp_path, save_images=False)
    sizes = {"img_0": (W, H), "sub/img_1": (W, H), "img_2": (W, H)}
    frames, _, _ = import_all("YOLO 1.1", path, frame_size=sizes.get)
    assert set(frames) == set(sizes)
    assert len(frames["img_0"].shapes) == 2


def test_ultralytics_segmentation_roundtrip(source, tmp_path) -> None:
    path = export_zip("Ultralytics YOLO Segmentation 1.0", source, tmp_path)
    frames, _, _ = import_all("Ultralytics YOLO Segmentation 1.0", path)
    poly = frames["img_0.png"].shapes
    assert canon_set(poly, attrs=False, flags=False) == canon_set(
        [s for s in expected_frames(source)["img_0.png"][1] if s["type"] == "polygon"],
        attrs=False,
        flags=False,
    )
    (mask_poly,) = frames["sub/img_1.png"].shapes
    mask = decode_cvat_mask(expected_frames(source)["sub/img_1.png"][1][0]["points"], W, H)
    drawn = polygon_to_bitmap(mask_poly["points"], W, H)
    assert (drawn | mask).sum() == drawn.sum()  # the polygon covers the whole mask


def test_ultralytics_obb_roundtrip(source, tmp_path) -> None:
    path = export_zip("Ultralytics YOLO Oriented Bounding Boxes 1.0", source, tmp_path)
    frames, _, _ = import_all("Ultralytics YOLO Oriented Bounding Boxes 1.0", path)
    for name, (_tags, shapes) in expected_frames(source).items():
        want = [s for s in shapes if s["type"] == "rectangle"]
        assert canon_set(frames[name].shapes, attrs=False) == canon_set(
            [dict(s, occluded=False) for s in want], attrs=False
        ), name


def test_ultralytics_pose_roundtrip(source, tmp_path) -> None:
    path = export_zip("Ultralytics YOLO Pose 1.0", source, tmp_path)
    frames, _, labels = import_all("Ultralytics YOLO Pose 1.0", path)
    (skel,) = frames["img_2.png"].shapes
    assert skel["label"] == "pose" and labels["pose"].type == "skeleton"
    pts = [
        (round(e["points"][0], 3), round(e["points"][1], 3), e["occluded"])
        for e in skel["elements"]
    ]
    assert pts == [(10.0, 10.0, False), (20.0, 25.0, True)]


def test_ultralytics_classification_roundtrip(source, tmp_path) -> None:
    path = export_zip("Ultralytics YOLO Classification 1.0", source, tmp_path)
    frames, _, _ = import_all("Ultralytics YOLO Classification 1.0", path)
    assert {n: [t["label"] for t in f.tags] for n, f in frames.items()} == {
        "img_0.png": ["person"],
        "sub/img_1.png": [],
        "img_2.png": [],
    }


def test_datumaro_roundtrip(source, tmp_path) -> None:
    path = export_zip("Datumaro 1.0", source, tmp_path)
    frames, _, labels = import_all("Datumaro 1.0", path)
    expected = expected_frames(source)
    assert set(frames) == set(expected)
    for name, (tags, shapes) in expected.items():
        got = frames[name]
        # points visibility is per shape in LabelVault, so occlusion of points survives too
        assert canon_set(got.shapes) == canon_set(shapes), name
        assert [t["label"] for t in got.tags] == [t["label"] for t in tags]
    assert [s.name for s in labels["pose"].sublabels] == ["head", "hand"]
