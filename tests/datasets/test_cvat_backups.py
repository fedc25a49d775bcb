"""Backups laid out as CVAT writes them: nested data/ folders with repeated names, CVAT's own."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from tests.conftest import png_bytes
from tests.datasets.conftest import multipart_upload
from tests.datasets.test_backup import backup, restore

FIXTURES = Path(__file__).parents[1] / "fixtures" / "cvat"
NESTED = ["a/x.png", "b/x.png", "b/c/x.png", "top.png"]


def _meta(client, task_id: int) -> list[tuple[str, int, int]]:  # type: ignore[no-untyped-def]
    frames = client.get(f"/api/tasks/{task_id}/data/meta").json()["frames"]
    return [(f["name"], f["width"], f["height"]) for f in frames]


def test_nested_folders_with_repeated_names_round_trip(admin) -> None:  # type: ignore[no-untyped-def]
    task = admin.post("/api/tasks", json={"name": "nested", "labels": [{"name": "car"}]}).json()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zf:
        for i, name in enumerate(NESTED):
            zf.writestr(name, png_bytes(40 + i, 30 + i))
    base = f"/api/tasks/{task['id']}/data/"
    assert admin.post(base, headers={"Upload-Start": ""}).status_code == 202
    files = [("client_files[0]", ("media.zip", archive.getvalue(), "application/zip"))]
    assert admin.post(base, headers={"Upload-Multiple": ""}, files=files).status_code == 200
    body = {"image_quality": 70, "sorting_method": "natural"}
    response = admin.post(base, headers={"Upload-Finish": ""}, json=body)
    assert response.status_code == 202, response.text
    frames = _meta(admin, task["id"])
    assert sorted(f[0] for f in frames) == sorted(NESTED)
    label = admin.get("/api/labels", params={"task_id": task["id"]}).json()["results"][0]
    shapes = [
        {"type": "rectangle", "frame": i, "label_id": label["id"], "points": [1, 1, 5 + i, 5]}
        for i in range(len(frames))
    ]
    admin.put(f"/api/tasks/{task['id']}/annotations", json={"shapes": shapes})

    data = backup(admin, f"/api/tasks/{task['id']}")
    members = zipfile.ZipFile(io.BytesIO(data)).namelist()
    assert {f"data/{n}" for n in NESTED} <= set(members)  # CVAT's layout: folders kept
    new_id = restore(admin, "task", data)
    assert _meta(admin, new_id) == frames  # same names, sizes and order
    restored = admin.get(f"/api/tasks/{new_id}/annotations").json()["shapes"]
    assert sorted((s["frame"], s["points"][2]) for s in restored) == [
        (i, 5.0 + i) for i in range(len(frames))
    ]


def test_cvat_made_backup_with_consensus_and_honeypots(admin) -> None:  # type: ignore[no-untyped-def]
    """CVAT's own test asset: what restores here, checked against the archive's JSON."""
    data = (FIXTURES / "task_30_backup_pre_consensus_replica_removal.zip").read_bytes()
    archive = zipfile.ZipFile(io.BytesIO(data))
    meta = json.loads(archive.read("task.json"))
    manifest = [json.loads(x) for x in archive.read("data/manifest.jsonl").splitlines()[2:]]
    new_id = restore(admin, "task", data)
    task = admin.get(f"/api/tasks/{new_id}").json()
    assert task["name"] == meta["name"]
    labels = admin.get("/api/labels", params={"task_id": new_id}).json()["results"]
    assert sorted(
        (lbl["name"], tuple(a["name"] for a in lbl["attributes"])) for lbl in labels
    ) == sorted(
        (lbl["name"], tuple(a["name"] for a in lbl["attributes"])) for lbl in meta["labels"]
    )
    sizes = {f"{m['name']}{m['extension']}": (m["width"], m["height"]) for m in manifest}
    frames = _meta(admin, new_id)
    # Each image once, in the manifest's order (honeypot placements share their frame).
    assert [f[0] for f in frames] == list(sizes)
    assert all(sizes[name] == (w, h) for name, w, h in frames)
    annotation_jobs = [j for j in meta["jobs"] if j["type"] == "annotation"]
    jobs = admin.get("/api/jobs", params={"task_id": new_id}).json()["results"]
    assert len([j for j in jobs if j["type"] == "annotation"]) == len(annotation_jobs)
    # The annotation jobs' objects come back, by label name.
    saved = json.loads(archive.read("annotations.json"))
    kinds = [j["type"] for j in meta["jobs"]]
    wanted = sorted(
        (s["label"], s["type"], tuple(s["points"]))
        for job, kind in zip(saved, kinds, strict=True)
        if kind == "annotation"
        for s in job["shapes"]
    )
    names = {lbl["id"]: lbl["name"] for lbl in labels}
    got = admin.get(f"/api/tasks/{new_id}/annotations").json()["shapes"]
    assert sorted((names[s["label_id"]], s["type"], tuple(s["points"])) for s in got) == wanted

    # The ground-truth job (CVAT's validation pool) comes back over the same images, with
    # its own annotations, as CVAT's restore recreates it.
    (gt_meta,) = [j for j in meta["jobs"] if j["type"] == "ground_truth"]
    (gt,) = [j for j in jobs if j["type"] == "ground_truth"]
    frame_names = [f[0] for f in frames]
    gt_frames = admin.get(f"/api/jobs/{gt['id']}/data/meta").json()
    included = [
        frame_names[i]
        for i in range(len(frame_names))
        if gt["start_frame"] <= i <= gt["stop_frame"]
        and i not in set(gt_frames.get("deleted_frames") or [])
    ]
    assert sorted(gt_meta["files"]) == sorted(n for n in included if n in set(gt_meta["files"]))
    assert gt["frame_count"] == len(gt_meta["files"])
    gt_saved = saved[kinds.index("ground_truth")]
    gt_got = admin.get(f"/api/jobs/{gt['id']}/annotations").json()
    assert sorted(
        (names[s["label_id"]], s["type"], tuple(s["points"])) for s in gt_got["shapes"]
    ) == sorted((s["label"], s["type"], tuple(s["points"])) for s in gt_saved["shapes"])
    assert len(gt_got["tags"]) == len(gt_saved["tags"])

    # Every consensus replica comes back after its annotation job, over its frames, with
    # its own objects (CVAT restores them as replica jobs of the same segment).
    replicas = sorted((j for j in jobs if j["type"] == "consensus_replica"), key=lambda j: j["id"])
    assert len(replicas) == kinds.count("consensus_replica")
    assert task["consensus_replicas"] == meta["consensus_replicas"]
    saved_replicas = [
        job for job, kind in zip(saved, kinds, strict=True) if kind == "consensus_replica"
    ]
    parents = {j["id"]: j for j in jobs if j["type"] == "annotation"}
    for replica, replica_saved in zip(replicas, saved_replicas, strict=True):
        parent = parents[replica["parent_job_id"]]
        assert (replica["start_frame"], replica["stop_frame"]) == (
            parent["start_frame"],
            parent["stop_frame"],
        )
        replica_got = admin.get(f"/api/jobs/{replica['id']}/annotations").json()
        assert sorted(
            (names[s["label_id"]], s["type"], tuple(s["points"])) for s in replica_got["shapes"]
        ) == sorted((s["label"], s["type"], tuple(s["points"])) for s in replica_saved["shapes"])
        assert len(replica_got["tags"]) == len(replica_saved["tags"])

    # ... and goes along in a backup made here, which restores to the same again
    again = restore(admin, "task", backup(admin, f"/api/tasks/{new_id}"))
    (gt2,) = [
        j
        for j in admin.get("/api/jobs", params={"task_id": again}).json()["results"]
        if j["type"] == "ground_truth"
    ]
    assert gt2["frame_count"] == gt["frame_count"]
    gt2_got = admin.get(f"/api/jobs/{gt2['id']}/annotations").json()
    assert len(gt2_got["shapes"]) == len(gt_got["shapes"]) and gt2_got["shapes"]
    again_jobs = admin.get("/api/jobs", params={"task_id": again, "type": "consensus_replica"})
    assert [
        len(admin.get(f"/api/jobs/{j['id']}/annotations").json()["shapes"])
        for j in sorted(again_jobs.json()["results"], key=lambda j: j["id"])
    ] == [len(r["shapes"]) for r in saved_replicas]


def _clip(frames: int = 30) -> bytes:
    import tempfile

    from tests.media.test_video_edit_serving import _video

    with tempfile.TemporaryDirectory() as tmp:
        return _video(Path(tmp) / "clip.mp4", frames).read_bytes()


def _cvat_backup(task_meta: dict, annotations: list, files: dict[str, bytes]) -> bytes:
    """An archive laid out as CVAT's TaskExporter writes one (engine/backup.py)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("task.json", json.dumps(task_meta))
        zf.writestr("annotations.json", json.dumps(annotations))
        for name, data in files.items():
            zf.writestr(f"data/{name}", data)
    return buf.getvalue()


def _job(start: int, stop: int) -> dict:
    return {"start_frame": start, "stop_frame": stop, "status": "annotation", "type": "annotation"}


def test_cvat_video_task_backup_restores(admin) -> None:  # type: ignore[no-untyped-def]
    manifest = "\n".join(
        json.dumps(x)
        for x in (
            {"version": "1.1"},
            {"type": "video"},
            {"properties": {"name": "clip.mp4", "resolution": [64, 48], "length": 30}},
            {"number": 0, "pts": 0, "checksum": "0"},
        )
    )
    meta = {
        "name": "video task",
        "bug_tracker": "",
        "status": "annotation",
        "subset": "",
        "labels": [{"name": "car", "color": "#ff0000", "attributes": [], "type": "any"}],
        "version": "1.0",
        "data": {
            "chunk_size": 36,
            "image_quality": 70,
            "start_frame": 0,
            "stop_frame": 29,
            "frame_filter": "",
            "chunk_type": "video",
            "storage_method": "cache",
            "storage": "local",
            "sorting_method": "lexicographical",
            "deleted_frames": [],
        },
        # CVAT's video jobs: 15 frames, neighbours share 5
        "jobs": [_job(0, 14), _job(10, 24), _job(20, 29)],
    }

    def keyframe(frame: int, x: float, outside: bool = False) -> dict:
        return {
            "type": "rectangle",
            "occluded": False,
            "outside": outside,
            "z_order": 0,
            "rotation": 0.0,
            "points": [x, 5.0, x + 10, 15.0],
            "frame": frame,
            "attributes": [],
        }

    track = {
        "frame": 2,
        "group": 0,
        "source": "manual",
        "attributes": [],
        "label": "car",
        "shapes": [keyframe(2, 1.0), keyframe(6, 9.0), keyframe(8, 9.0, True)],
        "elements": [],
    }
    shape = keyframe(21, 3.0) | {"group": 0, "source": "manual", "label": "car", "elements": []}
    shape.pop("outside")
    empty = {"version": 0, "tags": [], "shapes": [], "tracks": []}
    annotations = [
        {**empty, "tracks": [track]},
        empty,
        {**empty, "shapes": [shape]},
    ]
    data = _cvat_backup(
        meta, annotations, {"clip.mp4": _clip(), "manifest.jsonl": manifest.encode()}
    )
    new_id = restore(admin, "task", data)
    task = admin.get(f"/api/tasks/{new_id}").json()
    assert task["mode"] == "interpolation" and task["size"] == 30
    assert task["media_type"] == "video" and task["data_original_chunk_type"] == "video"
    jobs = admin.get("/api/jobs", params={"task_id": new_id}).json()["results"]
    assert sorted((j["start_frame"], j["stop_frame"]) for j in jobs) == [
        (0, 14),
        (10, 24),
        (20, 29),
    ]
    got = admin.get(f"/api/tasks/{new_id}/annotations").json()
    (restored,) = got["tracks"]
    assert [(s["frame"], s["points"][0], s["outside"]) for s in restored["shapes"]] == [
        (2, 1.0, False),
        (6, 9.0, False),
        (8, 9.0, True),
    ]
    assert [(s["frame"], s["points"]) for s in got["shapes"]] == [(21, [3.0, 5.0, 13.0, 15.0])]


def test_cvat_backup_with_masks_and_every_attribute_type(admin) -> None:  # type: ignore[no-untyped-def]
    def attr(name: str, kind: str, values: list[str], default: str, mutable: bool) -> dict:
        return {
            "name": name,
            "mutable": mutable,
            "input_type": kind,
            "default_value": default,
            "values": values,
        }

    specs = [
        attr("kind", "select", ["sedan", "van"], "sedan", False),
        attr("side", "radio", ["left", "right"], "left", False),
        attr("parked", "checkbox", ["false"], "false", True),
        attr("speed", "number", ["0", "100", "5"], "0", True),
        attr("note", "text", [], "", True),
    ]
    meta = {
        "name": "masks and attributes",
        "bug_tracker": "",
        "status": "annotation",
        "subset": "",
        "labels": [{"name": "car", "color": "#ff0000", "attributes": specs, "type": "any"}],
        "version": "1.0",
        "data": {
            "chunk_size": 36,
            "image_quality": 70,
            "start_frame": 0,
            "stop_frame": 1,
            "frame_filter": "",
            "chunk_type": "imageset",
            "storage_method": "cache",
            "storage": "local",
            "sorting_method": "lexicographical",
            "deleted_frames": [],
        },
        "jobs": [_job(0, 1)],
    }
    values = {"kind": "van", "side": "right", "parked": "true", "speed": "35", "note": "a, b"}
    attrs = [{"name": k, "value": v} for k, v in values.items()]
    # CVAT's mask: run lengths, then the inclusive box (left, top, right, bottom)
    mask = {
        "type": "mask",
        "occluded": False,
        "outside": False,
        "z_order": 0,
        "rotation": 0.0,
        "points": [0.0, 6.0, 2.0, 3.0, 4.0, 4.0],
        "frame": 0,
        "group": 0,
        "source": "manual",
        "attributes": attrs,
        "label": "car",
        "elements": [],
    }
    tag = {"frame": 1, "group": 0, "source": "manual", "attributes": attrs, "label": "car"}
    annotations = [{"version": 0, "tags": [tag], "shapes": [mask], "tracks": []}]
    files = {"a.png": png_bytes(10, 10), "b.png": png_bytes(10, 10)}
    new_id = restore(admin, "task", _cvat_backup(meta, annotations, files))
    (label,) = admin.get("/api/labels", params={"task_id": new_id}).json()["results"]
    assert [
        (a["name"], a["input_type"], a["values"], a["default_value"], a["mutable"])
        for a in label["attributes"]
    ] == [
        (a["name"], a["input_type"], a["values"], a["default_value"], a["mutable"]) for a in specs
    ]
    spec_names = {a["id"]: a["name"] for a in label["attributes"]}
    got = admin.get(f"/api/tasks/{new_id}/annotations").json()
    (shape,) = got["shapes"]
    assert shape["type"] == "mask" and shape["points"] == mask["points"]
    assert {spec_names[a["spec_id"]]: a["value"] for a in shape["attributes"]} == values
    (restored_tag,) = got["tags"]
    assert {spec_names[a["spec_id"]]: a["value"] for a in restored_tag["attributes"]} == values


def test_lightweight_cloud_storage_backup_says_what_to_do(admin) -> None:  # type: ignore[no-untyped-def]
    manifest = "\n".join(
        json.dumps(x)
        for x in (
            {"version": "1.1"},
            {"type": "images"},
            {"name": "a", "extension": ".png", "width": 10, "height": 10},
        )
    )
    meta = {
        "name": "bucket task",
        "labels": [{"name": "car", "attributes": []}],
        "version": "1.0",
        "data": {"storage": "cloud_storage", "start_frame": 0, "stop_frame": 0},
        "jobs": [_job(0, 0)],
    }
    data = _cvat_backup(meta, [{"version": 0, "tags": [], "shapes": [], "tracks": []}], {})
    buf = io.BytesIO(data)
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("data/manifest.jsonl", manifest)
    before = admin.get("/api/tasks").json()["count"]
    status = multipart_upload(admin, "/api/tasks/backup", buf.getvalue(), "task_file", {})
    assert status["status"] == "failed", status
    assert "lightweight backup of a cloud-storage task" in status["message"]
    assert admin.get("/api/tasks").json()["count"] == before
