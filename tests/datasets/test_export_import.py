"""Export every format from a real task, download it, and import it back through the API."""

from __future__ import annotations

import io
import json
import zipfile
from collections import Counter
from collections.abc import Callable

import pytest

from labelvault.formats import FORMATS
from tests.conftest import LABELS
from tests.datasets.conftest import (
    canon_shapes,
    export,
    label_ids,
    multipart_upload,
    tus_upload,
)

EXPORTERS = [name for name, f in FORMATS.items() if f.exporter]


def test_formats_listed(admin) -> None:  # type: ignore[no-untyped-def]
    body = admin.get("/api/server/annotation/formats").json()
    exporters = {f["name"]: f for f in body["exporters"]}
    importers = {f["name"]: f for f in body["importers"]}
    for name in ("PASCAL VOC 1.1", "LabelMe 3.0", "ImageNet 1.0", "Segmentation mask 1.1"):
        assert exporters[name]["ext"] == "ZIP" and name in importers
    assert importers["MOT 1.1"]["dimension"] == "2d"
    assert "CVAT 1.1" in importers and "CVAT 1.1" not in exporters


@pytest.mark.parametrize("fmt", EXPORTERS)
def test_export_with_and_without_images(fmt, admin, annotated_task) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task()
    for save_images in (False, True):
        data = export(admin, f"/api/tasks/{task['id']}", fmt, save_images)
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
        images = [
            m
            for m in members
            if m.filename.endswith("img0.png")
            and m.file_size > 0
            and not m.filename.startswith("Segmentation")
            and "annot/" not in m.filename  # CamVid's class masks
        ]
        assert bool(images) == save_images, (fmt, [m.filename for m in members])
        if fmt not in ("ImageNet 1.0", "Ultralytics YOLO Classification 1.0"):
            # label folders are all these two write besides images
            assert sum(m.file_size for m in members if m not in images) > 0


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_coco_is_read_by_pycocotools(admin, annotated_task, tmp_path) -> None:  # type: ignore[no-untyped-def]
    coco_mod = pytest.importorskip("pycocotools.coco")
    task = annotated_task()
    zipfile.ZipFile(io.BytesIO(export(admin, f"/api/tasks/{task['id']}", "COCO 1.0"))).extractall(
        tmp_path
    )
    coco = coco_mod.COCO(str(tmp_path / "annotations/instances_default.json"))
    # rectangles (3), the polygon, the mask and the ellipse (as a polygon)
    assert len(coco.getAnnIds()) == 6
    images = {img["file_name"]: img for img in coco.loadImgs(coco.getImgIds())}
    assert set(images) == {"img0.png", "img1.png", "img2.png"}
    assert images["img1.png"]["width"] == 65
    anns = coco.loadAnns(coco.getAnnIds(imgIds=[images["img0.png"]["id"]]))
    boxes = sorted(tuple(a["bbox"]) for a in anns)
    assert (2.0, 3.0, 10.0, 7.0) in boxes and (30.0, 5.0, 10.0, 20.0) in boxes
    crowd = [a for a in coco.loadAnns(coco.getAnnIds()) if a["iscrowd"]]
    assert len(crowd) == 1 and coco.annToMask(crowd[0]).sum() == 7 * 10 + 3 * 3


def _no_rotated(items: list[tuple]) -> list[tuple]:
    # the sample's rotated box (person, frame 2) comes back as its bounds in box-only formats
    return [i for i in items if not (i[0] == 2 and i[1] == "person" and i[2] == "rectangle")]


def _boxes(items: list[tuple]) -> list[tuple]:
    return sorted((i[0], i[1], i[3]) for i in _no_rotated(items) if i[2] == "rectangle")


def _types(*types: str, attrs: bool = True, flags: bool = True) -> Callable[[list], list]:
    def keep(items: list[tuple]) -> list[tuple]:
        out = []
        for f, label, kind, pts, a, occluded, rot, els in items:
            if kind in types:
                out.append((f, label, kind, pts, a if attrs else (), occluded and flags, rot, els))
        return sorted(out)

    return keep


def _skeletons(items: list[tuple]) -> list[tuple]:
    return sorted(
        (i[0], i[1], tuple((e[0], e[1]) for e in i[7])) for i in items if i[2] == "skeleton"
    )


def _tags(items: list[tuple]) -> list[tuple]:
    return sorted((i[0], i[1]) for i in items if i[2] == "tag")


def _mask_labels(items: list[tuple]) -> list[tuple]:
    painted = ("rectangle", "polygon", "ellipse", "mask")
    return sorted(Counter((i[0], i[1]) for i in items if i[2] in painted).items())


# import format, export format, projection applied to both sides: what survives the format
ROUNDTRIPS = [
    ("CVAT 1.1", "CVAT for images 1.1", sorted),
    ("Datumaro 1.0", "Datumaro 1.0", sorted),
    # the ellipse comes back as a 32-point polygon, so only boxes, masks and real polygons
    (
        "COCO 1.0",
        "COCO 1.0",
        lambda i: [x for x in _types("rectangle", "mask", "polygon")(i) if len(x[3]) < 64],
    ),
    ("COCO Keypoints 1.0", "COCO Keypoints 1.0", _skeletons),
    ("YOLO 1.1", "YOLO 1.1", _boxes),
    ("Ultralytics YOLO Detection 1.0", "Ultralytics YOLO Detection 1.0", _boxes),
    ("Ultralytics YOLO Pose 1.0", "Ultralytics YOLO Pose 1.0", _skeletons),
    ("Ultralytics YOLO Classification 1.0", "Ultralytics YOLO Classification 1.0", _tags),
    ("PASCAL VOC 1.1", "PASCAL VOC 1.1", lambda i: _no_rotated(_types("rectangle")(i)) + _tags(i)),
    (
        "LabelMe 3.0",
        "LabelMe 3.0",
        lambda i: (
            _no_rotated(_types("rectangle")(i))
            + [x for x in _types("polygon")(i) if len(x[3]) == 8]
        ),
    ),
    ("ImageNet 1.0", "ImageNet 1.0", _tags),
    ("Segmentation mask 1.1", "Segmentation mask 1.1", _mask_labels),
    # CamVid is semantic: one mask per label per image
    ("CamVid 1.0", "CamVid 1.0", lambda i: sorted({(k[0], k[1]) for k, _n in _mask_labels(i)})),
    ("MOT 1.1", "MOT 1.1", None),
]


@pytest.mark.parametrize(("imp", "exp", "keep"), ROUNDTRIPS, ids=[r[0] for r in ROUNDTRIPS])
def test_roundtrip_into_new_task(imp, exp, keep, admin, annotated_task, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task()
    data = export(admin, f"/api/tasks/{task['id']}", exp, save_images=False)
    labels = LABELS
    if imp in ("Segmentation mask 1.1", "CamVid 1.0"):  # masks only: box-only labels take them
        labels = [dict(lb, type="any") if lb["name"] == "person" else lb for lb in LABELS]
    other = task_with_data(labels=labels)
    status = tus_upload(
        admin, f"/api/tasks/{other['id']}/annotations/", data, "ds.zip", {"format": imp}
    )
    assert status["status"] == "finished", status
    got = canon_shapes(admin, other)
    want = canon_shapes(admin, task)
    if keep is None:  # MOT: boxes come back as tracks, one keyframe per visible frame
        tracks = admin.get(f"/api/tasks/{other['id']}/annotations").json()["tracks"]
        names = {v: k for k, v in label_ids(admin, other, attrs=False).items()}
        starts = sorted((names[t["label_id"]], t["shapes"][0]["frame"]) for t in tracks)
        assert starts == sorted((i[1], i[0]) for i in want if i[2] == "rectangle")
        return
    if imp in ("Segmentation mask 1.1", "CamVid 1.0"):
        assert {i[2] for i in got} == {"mask"}
    assert keep(got) == keep(want) and keep(want), (imp, keep(got), keep(want))


def test_video_export_keeps_tracks(admin, annotated_task, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task(tracks=True)
    data = export(admin, f"/api/tasks/{task['id']}", "CVAT for video 1.1")
    other = task_with_data()
    status = multipart_upload(
        admin,
        f"/api/tasks/{other['id']}/annotations",
        data,
        "annotation_file",
        {"format": "CVAT 1.1"},
    )
    assert status["status"] == "finished", status
    got = admin.get(f"/api/tasks/{other['id']}/annotations").json()
    real = [t for t in got["tracks"] if t["shapes"][0]["points"] == [20, 20, 30, 28]]
    assert len(real) == 1
    frames = [(s["frame"], s["outside"]) for s in real[0]["shapes"]]
    assert frames == [(0, False), (2, True)]
    # every plain shape became a one-frame track: visible on its frame, outside after
    assert len(got["tracks"]) == 1 + len(canon_shapes(admin, task)) - 1


def test_import_modes_and_job_scope(admin, annotated_task, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task()
    data = export(admin, f"/api/tasks/{task['id']}", "Datumaro 1.0")
    other = task_with_data(segment_size=2)
    jobs = admin.get(f"/api/jobs?task_id={other['id']}").json()["results"]
    assert len(jobs) == 2
    first = min(jobs, key=lambda j: j["start_frame"])
    status = tus_upload(
        admin, f"/api/jobs/{first['id']}/annotations/", data, "d.zip", {"format": "Datumaro 1.0"}
    )
    assert status["status"] == "finished", status
    job_shapes = admin.get(f"/api/jobs/{first['id']}/annotations").json()["shapes"]
    assert job_shapes and {s["frame"] for s in job_shapes} <= {0, 1}
    assert len(canon_shapes(admin, other)) == len(
        [i for i in canon_shapes(admin, task) if i[0] < 2]
    )
    # a task import replaces, append adds
    url = f"/api/tasks/{other['id']}/annotations"
    assert (
        multipart_upload(admin, url, data, "annotation_file", {"format": "Datumaro 1.0"})["status"]
        == "finished"
    )
    assert canon_shapes(admin, other) == canon_shapes(admin, task)
    query = {"format": "Datumaro 1.0", "import_mode": "append"}
    assert multipart_upload(admin, url, data, "annotation_file", query)["status"] == "finished"
    assert len(canon_shapes(admin, other)) == 2 * len(canon_shapes(admin, task))


def _zip(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()


BAD = [
    (
        "zip slip",
        "CVAT 1.1",
        lambda d: _zip({"annotations.xml": b"<annotations/>", "../evil.xml": b"x"}),
        "outside the archive",
    ),
    ("corrupt zip", "COCO 1.0", lambda d: d[: len(d) // 2], "zip"),
    ("wrong format", "YOLO 1.1", lambda d: d, "obj.names not found"),
    (
        "malformed json",
        "COCO 1.0",
        lambda d: _zip({"annotations/instances_default.json": b'{"images": [}'}),
        "malformed JSON",
    ),
    ("unknown label", "COCO 1.0", lambda d: d.replace(b'"person"', b'"alien"'), "lacks: alien"),
    ("unmatched frames", "COCO 1.0", lambda d: d.replace(b"img2.png", b"zzz9.png"), "zzz9.png"),
]


@pytest.mark.parametrize(("case", "fmt", "mangle", "message"), BAD, ids=[b[0] for b in BAD])
def test_bad_uploads_fail_and_write_nothing(
    case, fmt, mangle, message, admin, annotated_task, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task()
    data = export(admin, f"/api/tasks/{task['id']}", "COCO 1.0")
    if case in ("unknown label", "unmatched frames"):
        inner = zipfile.ZipFile(io.BytesIO(data))
        data = _zip({n: mangle(inner.read(n)) for n in inner.namelist()})
    else:
        data = mangle(data)
    before = canon_shapes(admin, task)
    status = tus_upload(
        admin, f"/api/tasks/{task['id']}/annotations/", data, "bad.zip", {"format": fmt}
    )
    assert status["status"] == "failed" and message in status["message"], status
    assert canon_shapes(admin, task) == before
    assert not (tmp_path / "evil.xml").exists()


def test_unknown_labels_can_be_created(admin, annotated_task, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task()
    data = export(admin, f"/api/tasks/{task['id']}", "Datumaro 1.0")
    inner = zipfile.ZipFile(io.BytesIO(data))
    data = _zip({n: inner.read(n).replace(b'"person"', b'"alien"') for n in inner.namelist()})
    url = f"/api/tasks/{task['id']}/annotations"
    query = {"format": "Datumaro 1.0", "create_labels": "true"}
    status = multipart_upload(admin, url, data, "annotation_file", query)
    assert status["status"] == "finished", status
    assert "alien" in label_ids(admin, task)
    assert any(i[1] == "alien" for i in canon_shapes(admin, task))


def test_export_rejects_unknown_format_and_checks_rights(admin, annotated_task, make_user) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task()
    response = admin.post(f"/api/tasks/{task['id']}/dataset/export", params={"format": "Nope 9"})
    assert response.status_code == 400 and "Nope 9" in response.text
    stranger = make_user("stranger")
    response = stranger.post(
        f"/api/tasks/{task['id']}/dataset/export", params={"format": "COCO 1.0"}
    )
    assert response.status_code == 404
    response = stranger.post(
        f"/api/tasks/{task['id']}/annotations",
        params={"format": "COCO 1.0"},
        headers={"Upload-Start": ""},
    )
    assert response.status_code == 404


def test_project_export_and_dataset_import(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import LABELS
    from tests.datasets.conftest import sample_annotations

    project = admin.post("/api/projects", json={"name": "proj", "labels": LABELS}).json()
    for subset in ("train", "val"):
        task = task_with_data(project_id=project["id"], subset=subset)
        data = sample_annotations(label_ids(admin, task), task["size"])
        assert admin.put(f"/api/tasks/{task['id']}/annotations", json=data).status_code == 200
    exported = export(admin, f"/api/projects/{project['id']}", "Datumaro 1.0", save_images=True)
    names = zipfile.ZipFile(io.BytesIO(exported)).namelist()
    assert "annotations/train.json" in names and "annotations/val.json" in names
    target = admin.post("/api/projects", json={"name": "copy", "labels": LABELS}).json()
    status = tus_upload(
        admin,
        f"/api/projects/{target['id']}/dataset/",
        exported,
        "p.zip",
        {"format": "Datumaro 1.0"},
    )
    assert status["status"] == "finished", status
    tasks = admin.get(f"/api/tasks?project_id={target['id']}").json()["results"]
    assert sorted(t["subset"] for t in tasks) == ["train", "val"]
    source_tasks = admin.get(f"/api/tasks?project_id={project['id']}").json()["results"]
    want = canon_shapes(admin, source_tasks[0])
    for t in tasks:
        assert t["size"] == 3
        assert canon_shapes(admin, t) == want
    meta = admin.get(f"/api/tasks/{tasks[0]['id']}/data/meta").json()
    assert [f["name"] for f in meta["frames"]] == ["img0.png", "img1.png", "img2.png"]
    json.dumps(meta)


@pytest.mark.parametrize("fmt", ["COCO 1.0", "Datumaro 1.0"])
def test_per_frame_formats_rebuild_tracks(fmt, admin, annotated_task, task_with_data) -> None:  # type: ignore[no-untyped-def]
    # CVAT rebuilds tracks from the track_id/keyframe attributes of per-frame formats
    task = annotated_task(tracks=True)
    want = admin.get(f"/api/tasks/{task['id']}/annotations").json()["tracks"]
    data = export(admin, f"/api/tasks/{task['id']}", fmt)
    other = task_with_data()
    status = tus_upload(
        admin, f"/api/tasks/{other['id']}/annotations/", data, "ds.zip", {"format": fmt}
    )
    assert status["status"] == "finished", status
    got = admin.get(f"/api/tasks/{other['id']}/annotations").json()
    (track,) = got["tracks"]
    names = {v: k for k, v in label_ids(admin, task, attrs=False).items()}
    other_names = {v: k for k, v in label_ids(admin, other, attrs=False).items()}
    assert len(want) == 1 and other_names[track["label_id"]] == names[want[0]["label_id"]]
    # visible on 0 and 1: the last visible frame becomes a keyframe, outside on the next
    assert [(s["frame"], s["outside"]) for s in track["shapes"]] == [
        (0, False),
        (1, False),
        (2, True),
    ]
    assert track["shapes"][0]["points"] == [20, 20, 30, 28]
    # the track's frames are not repeated as plain shapes
    boxes = [s for s in got["shapes"] if s["points"] == [20, 20, 30, 28]]
    assert boxes == []


def test_pose_export_without_skeletons_imports_back(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    labels = [lb for lb in LABELS if lb["type"] != "skeleton"]
    task = task_with_data(labels=labels)
    box = {"type": "rectangle", "frame": 0, "label_id": label_ids(admin, task)["person"]}
    box |= {"points": [1, 1, 5, 5]}
    assert admin.put(f"/api/tasks/{task['id']}/annotations", json={"shapes": [box]}).is_success
    data = export(admin, f"/api/tasks/{task['id']}", "Ultralytics YOLO Pose 1.0")
    status = tus_upload(
        admin,
        f"/api/tasks/{task['id']}/annotations/",
        data,
        "ds.zip",
        {"format": "Ultralytics YOLO Pose 1.0"},
    )
    assert status["status"] == "finished", status
    # the box is not a pose: replacing the annotations with the (empty) pose set clears it
    assert admin.get(f"/api/tasks/{task['id']}/annotations").json()["shapes"] == []


def test_classification_export_with_images_is_not_empty(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data()  # no tags at all: every image goes to no_label/
    data = export(admin, f"/api/tasks/{task['id']}", "Ultralytics YOLO Classification 1.0", True)
    names = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert sorted(n for n in names if n.endswith(".png")) == [
        f"train/no_label/img{i}.png" for i in range(task["size"])
    ]
    assert "train/labels.json" in names
