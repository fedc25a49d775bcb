"""cvat-cli 2.80.0 `task ...` commands against a live LabelVault, effects checked on the server."""

from __future__ import annotations

import http.server
import io
import json
import re
import threading
import zipfile
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers.compat import (
    LABELS,
    Live,
    archive_images,
    archive_text,
    frame_color,
    labels_json,
    sample_annotations,
    shape_summary,
    source_frames,
    write_images,
)

pytestmark = pytest.mark.e2e
FAST = ("--completion_verification_period", "0.1")


def _names(live: Live, **query: int) -> dict[int, str]:
    return {label["id"]: label["name"] for label in live.labels(**query)}


def _create(live: Live, name: str, *args: str) -> int:
    out = live.cli_ok("task", "create", name, *args, *FAST)
    return int(out.split()[-1])


def _frame_names(live: Live, task_id: int) -> list[str]:
    meta = live.api().get(f"/api/tasks/{task_id}/data/meta")
    assert meta.status_code == 200, meta.text
    return [frame["name"] for frame in meta.json()["frames"]]


def _frame(live: Live, task_id: int, number: int, quality: str = "original") -> Image.Image:
    response = live.api().get(
        f"/api/tasks/{task_id}/data/",
        params={"type": "frame", "number": number, "quality": quality},
    )
    assert response.status_code == 200, response.text
    return Image.open(io.BytesIO(response.content))


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture(scope="module")
def http_files(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """A plain HTTP file server on 127.0.0.1 for `task create ... remote`."""
    folder = tmp_path_factory.mktemp("www")
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), partial(_Quiet, directory=str(folder))
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


# ---- task create ----------------------------------------------------------------------------


def test_create_local_with_options(live: Live, tmp_path: Path) -> None:
    paths = write_images(tmp_path / "imgs", count=5, prefix="frame_")
    # natural sorting puts frame_10 after frame_2; lexicographic would not
    paths[4] = paths[4].rename(paths[4].with_name("frame_10.png"))
    task_id = _create(
        live,
        "local options",
        "local",
        *map(str, reversed(paths)),
        "--labels",
        labels_json(),
        "--segment_size",
        "2",
        "--image_quality",
        "35",
        "--sorting-method",
        "natural",
        "--frame_step",
        "2",
        "--bug_tracker",
        "https://bugs.example/1",
    )
    task = live.api().get(f"/api/tasks/{task_id}").json()
    assert task["name"] == "local options"
    assert task["image_quality"] == 35
    assert task["bug_tracker"] == "https://bugs.example/1"
    # frames frame_0, frame_2, frame_10 out of 0,1,2,3,10 in natural order with step 2
    assert task["size"] == 3
    assert _frame_names(live, task_id) == ["frame_0.png", "frame_2.png", "frame_10.png"]
    meta = live.api().get(f"/api/tasks/{task_id}/data/meta").json()
    assert meta["frame_filter"] == "step=2"
    assert meta["image_quality"] == 35
    jobs = live.api().get("/api/jobs", params={"task_id": task_id}).json()["results"]
    assert sorted((j["start_frame"], j["stop_frame"]) for j in jobs) == [(0, 1), (2, 2)]
    assert {label["name"] for label in live.labels(task_id=task_id)} == {"car", "person", "sky"}
    assert _frame(live, task_id, 2).size == (48, 34)  # frame_10 is the 5th image written


def test_create_in_project_with_annotations(live: Live, tmp_path: Path) -> None:
    """--project_id takes the project's labels; --annotation_path imports right after."""
    out = live.cli_ok("project", "create", "for tasks", "--labels", labels_json())
    project_id = int(out.split()[-1])
    source = live.api().get(f"/api/tasks/{_source_task(live, tmp_path)}/annotations/").json()
    xml = _export_bytes(live, _source_task(live, tmp_path), "CVAT for images 1.1", tmp_path)
    annotations = tmp_path / "annotations.zip"
    annotations.write_bytes(xml)
    paths = write_images(tmp_path / "imgs")
    task_id = _create(
        live,
        "in project",
        "local",
        *map(str, paths),
        "--project_id",
        str(project_id),
        "--annotation_path",
        str(annotations),
        "--annotation_format",
        "CVAT 1.1",
    )
    task = live.api().get(f"/api/tasks/{task_id}").json()
    assert task["project_id"] == project_id
    names = _names(live, project_id=project_id)
    got = shape_summary(live.annotations(task_id), names)
    source_names = _names(live, task_id=_source_task(live, tmp_path))
    assert got == shape_summary(source, source_names)
    assert len(got) == 4


_SOURCE: dict[str, int] = {}


def _source_task(live: Live, tmp_path: Path) -> int:
    """A small annotated task of this server (made once) to export annotation files from."""
    if live.backend not in _SOURCE:
        paths = write_images(tmp_path / "source")
        task_id = _create(live, "source", "local", *map(str, paths), "--labels", labels_json())
        response = live.api().put(
            f"/api/tasks/{task_id}/annotations/", json=sample_annotations(live, task_id)
        )
        assert response.status_code == 200, response.text
        _SOURCE[live.backend] = task_id
    return _SOURCE[live.backend]


def _export_bytes(
    live: Live, task_id: int, fmt: str, tmp_path: Path, images: bool = False
) -> bytes:
    target = tmp_path / f"export-{abs(hash((fmt, images)))}.zip"
    target.unlink(missing_ok=True)
    live.cli_ok(
        "task",
        "export-dataset",
        str(task_id),
        str(target),
        "--format",
        fmt,
        "--with-images",
        str(images),
        *FAST,
    )
    data = target.read_bytes()
    assert zipfile.ZipFile(io.BytesIO(data)).testzip() is None
    return data


def test_create_local_over_100mb_uses_tus(live: Live, big_png: Path, tmp_path: Path) -> None:
    small = write_images(tmp_path / "imgs", count=2)
    task_id = _create(
        live,
        "big",
        "local",
        str(small[0]),
        str(big_png),
        str(small[1]),
        "--labels",
        labels_json(),
        "--sorting-method",
        "predefined",
    )
    task = live.api().get(f"/api/tasks/{task_id}").json()
    assert task["size"] == 3
    # predefined keeps the user's order although the big file was uploaded last (TUS)
    assert _frame_names(live, task_id) == ["img0.png", "big.png", "img1.png"]
    frame = _frame(live, task_id, 1)
    assert frame.size == (64, 48)
    assert frame.convert("RGB").getpixel((3, 3)) == (1, 2, 3)
    assert _frame(live, task_id, 1, "compressed").size == (64, 48)


def test_create_from_share(live: Live) -> None:
    folder = live.share_dir / "cli-share"
    write_images(folder / "sub", count=2, prefix="s")
    write_images(folder, count=1, prefix="top")
    task_id = _create(
        live,
        "share",
        "share",
        "cli-share/top0.png",
        "cli-share/sub/",
        "--labels",
        labels_json(),
        "--image_quality",
        "50",
    )
    task = live.api().get(f"/api/tasks/{task_id}").json()
    assert task["size"] == 3
    names = _frame_names(live, task_id)
    assert sorted(Path(n).name for n in names) == ["s0.png", "s1.png", "top0.png"]
    sizes = sorted(_frame(live, task_id, i).size for i in range(3))
    assert sizes == [(40, 30), (40, 30), (42, 31)]


def test_create_from_remote(live: Live, http_files: tuple[str, Path], tmp_path: Path) -> None:
    base, folder = http_files
    write_images(folder, count=2, prefix="remote")
    task_id = _create(
        live,
        "remote",
        "remote",
        f"{base}/remote1.png",
        f"{base}/remote0.png",
        "--labels",
        labels_json(),
    )
    task = live.api().get(f"/api/tasks/{task_id}").json()
    assert task["size"] == 2
    assert [Path(n).name for n in _frame_names(live, task_id)] == ["remote0.png", "remote1.png"]
    image = _frame(live, task_id, 1)
    assert image.size == (42, 31)
    assert image.convert("RGB").getpixel((1, 1)) == frame_color(1)


def test_create_missing_share_file_fails_with_its_name(live: Live) -> None:
    result = live.cli(
        "task", "create", "bad share", "share", "no/such/file.png", "--labels", labels_json(), *FAST
    )
    # The SDK raises BackgroundRequestException for a failed request, which the CLI does not
    # catch; the server's part is a failed request with a message that names the file.
    assert result.returncode == 1
    assert "file.png" in result.stderr
    task_id = int(re.search(r"Created task ID: (\d+)", result.stderr).group(1))  # type: ignore[union-attr]
    task = live.api().get(f"/api/tasks/{task_id}").json()
    assert task["name"] == "bad share" and task["size"] == 0
    assert live.api().get("/api/jobs", params={"task_id": task_id}).json()["count"] == 0


# ---- ls / delete / frames -------------------------------------------------------------------


def test_ls_and_json(live: Live, annotated_task: int) -> None:
    ids = [int(line) for line in live.cli_ok("task", "ls").split()]
    server_ids = set()
    page = 1
    while True:
        body = live.api().get("/api/tasks", params={"page": page}).json()
        server_ids |= {t["id"] for t in body["results"]}
        if not body["next"]:
            break
        page += 1
    assert annotated_task in ids
    assert set(ids) == server_ids and len(ids) == len(server_ids)
    listed = json.loads(live.cli_ok("task", "ls", "--json"))
    mine = next(t for t in listed if t["id"] == annotated_task)
    assert mine["name"] == "annotated"
    assert mine["size"] == 3
    assert mine["jobs"]["count"] == 2


def test_delete(live: Live, tmp_path: Path) -> None:
    paths = write_images(tmp_path / "imgs", count=1)
    task_id = _create(live, "to delete", "local", str(paths[0]), "--labels", labels_json())
    jobs = live.api().get("/api/jobs", params={"task_id": task_id}).json()["results"]
    assert jobs
    result = live.cli("task", "delete", str(task_id), "999999")
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert live.api().get(f"/api/tasks/{task_id}").status_code == 404
    assert live.api().get(f"/api/jobs/{jobs[0]['id']}").status_code == 404
    assert not (live.data_dir / "media" / "tasks" / str(task_id)).exists()


@pytest.mark.parametrize("quality", ["original", "compressed"])
def test_frames(live: Live, annotated_task: int, tmp_path: Path, quality: str) -> None:
    out = tmp_path / "frames"
    live.cli_ok(
        "task",
        "frames",
        str(annotated_task),
        "0",
        "2",
        "--outdir",
        str(out),
        "--quality",
        quality,
    )
    saved = sorted(out.iterdir())
    assert [p.stem for p in saved] == [
        f"task_{annotated_task}_frame_000000",
        f"task_{annotated_task}_frame_000002",
    ]
    for path, index in zip(saved, (0, 2), strict=True):
        image = Image.open(path)
        assert image.size == (40 + 2 * index, 30 + index)
        pixel = image.convert("RGB").getpixel((2, 2))
        tolerance = 0 if quality == "original" else 12
        assert all(abs(a - b) <= tolerance for a, b in zip(pixel, frame_color(index), strict=True))
    if quality == "original":
        assert saved[0].suffix == ".png"


# ---- export / import ------------------------------------------------------------------------


def _exporters(live: Live) -> list[str]:
    body = live.api().get("/api/server/annotation/formats").json()
    return [f["name"] for f in body["exporters"] if f["enabled"] and f["dimension"] == "2d"]


EXPORTERS = [
    "CVAT for images 1.1",
    "CVAT for video 1.1",
    "COCO 1.0",
    "COCO Keypoints 1.0",
    "YOLO 1.1",
    "Ultralytics YOLO Detection 1.0",
    "Ultralytics YOLO Segmentation 1.0",
    "Ultralytics YOLO Oriented Bounding Boxes 1.0",
    "Ultralytics YOLO Pose 1.0",
    "Ultralytics YOLO Classification 1.0",
    "PASCAL VOC 1.1",
    "Datumaro 1.0",
    "LabelMe 3.0",
    "ImageNet 1.0",
    "Segmentation mask 1.1",
    "CamVid 1.0",
    "MOT 1.1",
]


def test_every_exporter_is_covered(live: Live) -> None:
    assert sorted(_exporters(live)) == sorted(EXPORTERS)


CLASSIFICATION = {"Ultralytics YOLO Classification 1.0", "ImageNet 1.0"}

# What each format must say about the sample annotations (beyond being a valid zip).
_EVIDENCE: dict[str, tuple[str, ...]] = {
    "CVAT for images 1.1": ('label="car"', 'label="sky"', "<polygon"),
    "CVAT for video 1.1": ('label="car"',),
    "COCO 1.0": ('"name": "car"', '"bbox"'),
    "YOLO 1.1": ("car", "person"),
    "PASCAL VOC 1.1": ("<name>car</name>",),
    "Datumaro 1.0": ('"bbox"', "car"),
    "LabelMe 3.0": ("car",),
    "MOT 1.1": ("car",),
    "Segmentation mask 1.1": ("car", "person"),
    "CamVid 1.0": ("background", "car", "person"),
}


@pytest.mark.parametrize("with_images", [False, True], ids=["no-images", "images"])
@pytest.mark.parametrize("fmt", EXPORTERS)
def test_export_dataset(
    live: Live, annotated_task: int, tmp_path: Path, fmt: str, with_images: bool
) -> None:
    data = _export_bytes(live, annotated_task, fmt, tmp_path, with_images)
    found = source_frames(archive_images(data))
    members = sorted(zipfile.ZipFile(io.BytesIO(data)).namelist())
    if not with_images:
        assert found == set(), members
    elif fmt in CLASSIFICATION:
        assert 0 in found, members  # the tagged frame; untagged ones may be left out
    else:
        assert found == {0, 1, 2}, members
    text = archive_text(data)
    for evidence in _EVIDENCE.get(fmt, ()):
        assert evidence in text, f"{fmt}: {evidence!r} missing"
    if fmt == "COCO 1.0":
        coco = json.loads(
            next(
                zipfile.ZipFile(io.BytesIO(data)).read(n)
                for n in zipfile.ZipFile(io.BytesIO(data)).namelist()
                if n.endswith(".json")
            )
        )
        assert len(coco["images"]) == 3
        assert len(coco["annotations"]) == 3


def test_export_to_directory_uses_server_filename(
    live: Live, annotated_task: int, tmp_path: Path
) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    live.cli_ok(
        "task", "export-dataset", str(annotated_task), "--format", "COCO 1.0", *FAST, cwd=out
    )
    files = list(out.iterdir())
    assert len(files) == 1 and files[0].suffix == ".zip"
    assert '"bbox"' in archive_text(files[0].read_bytes())


@pytest.mark.parametrize(
    ("export_format", "import_format"),
    [
        ("CVAT for images 1.1", "CVAT 1.1"),
        ("COCO 1.0", "COCO 1.0"),
        ("Datumaro 1.0", "Datumaro 1.0"),
    ],
)
def test_import_dataset(
    live: Live, annotated_task: int, tmp_path: Path, export_format: str, import_format: str
) -> None:
    data = _export_bytes(live, annotated_task, export_format, tmp_path)
    archive = tmp_path / "dataset.zip"
    archive.write_bytes(data)
    target = _create(
        live,
        "import target",
        "local",
        *map(str, write_images(tmp_path / "imgs")),
        "--labels",
        labels_json(),
    )
    live.cli_ok("task", "import-dataset", str(target), str(archive), "--format", import_format)
    got = shape_summary(live.annotations(target), _names(live, task_id=target))
    want = shape_summary(live.annotations(annotated_task), _names(live, task_id=annotated_task))
    if import_format == "COCO 1.0":
        # COCO has no tags and stores polygons as segmentation; compare boxes and polygons
        want = [w for w in want if w[2] != "tag"]
    assert got == want


def test_import_unknown_format_is_a_clean_error(
    live: Live, annotated_task: int, tmp_path: Path
) -> None:
    archive = tmp_path / "x.zip"
    archive.write_bytes(_export_bytes(live, annotated_task, "COCO 1.0", tmp_path))
    result = live.cli(
        "task", "import-dataset", str(annotated_task), str(archive), "--format", "Nope 9"
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr, result.stderr
    assert "Nope 9" in result.stderr
    assert len(live.annotations(annotated_task)["shapes"]) == 3


# ---- backups --------------------------------------------------------------------------------


def test_backup_and_restore(live: Live, annotated_task: int, tmp_path: Path) -> None:
    target = tmp_path / "task-backup.zip"
    live.cli_ok("task", "backup", str(annotated_task), str(target), *FAST)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        task_json = json.loads(archive.read("task.json"))
    assert "annotations.json" in names
    assert sorted(n for n in names if n.startswith("data/") and n.endswith(".png")) == [
        "data/img0.png",
        "data/img1.png",
        "data/img2.png",
    ]
    assert task_json["name"] == "annotated"
    assert {label["name"] for label in task_json["labels"]} == {"car", "person", "sky"}

    out = live.cli_ok("task", "create-from-backup", str(target), *FAST)
    restored = int(out.split()[-1])
    assert restored != annotated_task
    task = live.api().get(f"/api/tasks/{restored}").json()
    assert task["name"] == "annotated"
    assert task["size"] == 3
    assert task["jobs"]["count"] == 2
    assert _frame_names(live, restored) == ["img0.png", "img1.png", "img2.png"]
    assert shape_summary(live.annotations(restored), _names(live, task_id=restored)) == (
        shape_summary(live.annotations(annotated_task), _names(live, task_id=annotated_task))
    )


def test_restore_from_garbage_is_a_clean_error(live: Live, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.zip"
    garbage.write_bytes(b"this is not a zip")
    before = live.api().get("/api/tasks").json()["count"]
    result = live.cli("task", "create-from-backup", str(garbage), *FAST)
    assert result.returncode == 1
    assert live.api().get("/api/tasks").json()["count"] == before


# ---- auto-annotate --------------------------------------------------------------------------

FUNCTION = '''
"""A detector that finds one fixed car and one person on every image."""
import cvat_sdk.auto_annotation as cvataa

spec = cvataa.DetectionFunctionSpec(
    labels=[cvataa.label_spec("car", 0), cvataa.label_spec("person", 1)]
)


def detect(context, image):
    width, height = image.size
    return [
        cvataa.rectangle(0, [1, 2, 11, 12]),
        cvataa.rectangle(1, [0, 0, width - 1, height - 1]),
    ]
'''


def test_auto_annotate(live: Live, tmp_path: Path) -> None:
    function = tmp_path / "fixed_boxes.py"
    function.write_text(FUNCTION)
    paths = write_images(tmp_path / "imgs")
    task_id = _create(
        live, "auto", "local", *map(str, paths), "--labels", labels_json(), "--segment_size", "2"
    )
    live.cli_ok("task", "auto-annotate", str(task_id), "--function-file", str(function))
    data = live.annotations(task_id)
    names = _names(live, task_id=task_id)
    got = sorted(
        (s["frame"], names[s["label_id"]], tuple(s["points"]), s["source"]) for s in data["shapes"]
    )
    want = []
    for i in range(3):
        want.append((i, "car", (1.0, 2.0, 11.0, 12.0), "auto"))
        want.append((i, "person", (0.0, 0.0, 39.0 + 2 * i, 29.0 + i), "auto"))
    assert got == sorted(want)
    # running again with --clear-existing replaces rather than appends
    live.cli_ok(
        "task", "auto-annotate", str(task_id), "--function-file", str(function), "--clear-existing"
    )
    assert len(live.annotations(task_id)["shapes"]) == 6


def test_auto_annotate_unknown_label_is_a_clean_error(live: Live, tmp_path: Path) -> None:
    function = tmp_path / "other.py"
    function.write_text(FUNCTION.replace('"person"', '"zebra"'))
    paths = write_images(tmp_path / "imgs", count=1)
    labels = [label for label in LABELS if label["name"] == "car"]
    task_id = _create(live, "auto2", "local", str(paths[0]), "--labels", labels_json(labels))
    result = live.cli("task", "auto-annotate", str(task_id), "--function-file", str(function))
    assert result.returncode == 1
    assert "zebra" in result.stderr
    assert live.annotations(task_id)["shapes"] == []
