"""CVAT-compatible task and project backups: export, restore, and a backup made by CVAT."""

from __future__ import annotations

import io
import json
import zipfile

from tests.conftest import LABELS, png_bytes
from tests.datasets.conftest import (
    canon_shapes,
    label_ids,
    multipart_upload,
    tus_upload,
    wait_request,
)


def backup(client, base: str) -> bytes:  # type: ignore[no-untyped-def]
    status = wait_request(
        client,
        client.post(f"{base}/backup/export", params={"lightweight": "False", "location": "local"}),
    )
    assert status["status"] == "finished", status
    assert status["operation"]["type"] == "export:backup"
    response = client.get(status["result_url"].removeprefix("http://testserver"))
    assert response.status_code == 200
    assert response.headers["content-disposition"].endswith('_backup.zip"')
    return response.content


def restore(client, kind: str, data: bytes, tus: bool = True) -> int:  # type: ignore[no-untyped-def]
    if tus:
        status = tus_upload(client, f"/api/{kind}s/backup/", data, "backup.zip", {})
    else:
        status = multipart_upload(client, f"/api/{kind}s/backup", data, f"{kind}_file", {})
    assert status["status"] == "finished", status
    assert isinstance(status["result_id"], int)
    return status["result_id"]


def _labels(client, query: str) -> list:  # type: ignore[no-untyped-def]
    def strip(label: dict) -> dict:
        return {
            "name": label["name"],
            "color": label["color"],
            "type": label["type"],
            "attributes": sorted(
                (a["name"], a["input_type"], a["mutable"], tuple(a["values"]), a["default_value"])
                for a in label["attributes"]
            ),
            "sublabels": [s["name"] for s in label.get("sublabels") or []],
            "svg_points": label["svg"].count("<circle"),
        }

    return sorted(
        (strip(lb) for lb in client.get(f"/api/labels?{query}&page_size=100").json()["results"]),
        key=lambda lb: lb["name"],
    )


def _tracks(client, task: dict) -> list:  # type: ignore[no-untyped-def]
    names = {v: k for k, v in label_ids(client, task, attrs=False).items()}
    data = client.get(f"/api/tasks/{task['id']}/annotations").json()
    return sorted(
        (
            names[t["label_id"]],
            t["frame"],
            len(t["attributes"]),
            tuple((s["frame"], tuple(s["points"]), s["outside"]) for s in t["shapes"]),
        )
        for t in data["tracks"]
    )


def _jobs(client, task_id: int) -> list:  # type: ignore[no-untyped-def]
    jobs = client.get(f"/api/jobs?task_id={task_id}").json()["results"]
    return sorted(
        (
            j["start_frame"],
            j["stop_frame"],
            j["stage"],
            j["state"],
            (j["assignee"] or {}).get("username"),
        )
        for j in jobs
    )


def test_task_backup_restores_equal(admin, annotated_task, make_user) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task(tracks=True, segment_size=2)
    bob = make_user("bob")
    jobs = sorted(
        admin.get(f"/api/jobs?task_id={task['id']}").json()["results"],
        key=lambda j: j["start_frame"],
    )
    assert (
        admin.patch(f"/api/jobs/{jobs[0]['id']}", json={"assignee": bob.user_id}).status_code == 200
    )
    response = admin.patch(
        f"/api/jobs/{jobs[1]['id']}", json={"stage": "validation", "state": "in progress"}
    )
    assert response.status_code == 200
    data = backup(admin, f"/api/tasks/{task['id']}")
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = set(archive.namelist())
    assert {"task.json", "annotations.json", "data/manifest.jsonl", "data/img0.png"} <= names
    meta = json.loads(archive.read("task.json"))
    assert meta["version"] == "1.0" and len(meta["jobs"]) == 2
    assert len(json.loads(archive.read("annotations.json"))) == 2

    new_id = restore(admin, "task", data)
    assert new_id != task["id"]
    restored = admin.get(f"/api/tasks/{new_id}").json()
    assert restored["name"] == task["name"] and restored["size"] == 3
    assert _labels(admin, f"task_id={new_id}") == _labels(admin, f"task_id={task['id']}")
    assert _jobs(admin, new_id) == _jobs(admin, task["id"])
    assert "bob" in {j[4] for j in _jobs(admin, new_id)}
    old_meta = admin.get(f"/api/tasks/{task['id']}/data/meta").json()
    new_meta = admin.get(f"/api/tasks/{new_id}/data/meta").json()
    assert new_meta["frames"] == old_meta["frames"]
    assert canon_shapes(admin, restored) == canon_shapes(admin, task)
    assert _tracks(admin, restored) == _tracks(admin, task) and _tracks(admin, task)
    frame = admin.get(
        f"/api/tasks/{new_id}/data", params={"type": "frame", "number": 1, "quality": "original"}
    )
    assert (
        frame.content
        == admin.get(
            f"/api/tasks/{task['id']}/data",
            params={"type": "frame", "number": 1, "quality": "original"},
        ).content
    )


def test_project_backup_with_two_tasks(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    from tests.datasets.conftest import sample_annotations

    project = admin.post("/api/projects", json={"name": "proj", "labels": LABELS}).json()
    tasks = []
    for frames in (3, 2):
        task = task_with_data(project_id=project["id"], frames=frames)
        data = sample_annotations(label_ids(admin, task), frames)
        assert admin.put(f"/api/tasks/{task['id']}/annotations", json=data).status_code == 200
        tasks.append(task)
    data = backup(admin, f"/api/projects/{project['id']}")
    names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    assert {
        "project.json",
        "task_0/task.json",
        "task_1/annotations.json",
        "task_1/data/img1.png",
    } <= names
    new_id = restore(admin, "project", data, tus=False)
    assert _labels(admin, f"project_id={new_id}") == _labels(admin, f"project_id={project['id']}")
    restored = sorted(
        admin.get(f"/api/tasks?project_id={new_id}").json()["results"], key=lambda t: t["id"]
    )
    assert [t["size"] for t in restored] == [3, 2]
    for old, new in zip(tasks, restored, strict=True):
        assert canon_shapes(admin, new) == canon_shapes(admin, old)


def _cvat_backup(version: str = "1.0", extra: dict | None = None) -> bytes:
    """A task backup laid out exactly as CVAT 2.x writes one (cvat-reference.md §2.1)."""
    svg = (
        '<line x1="36" y1="23" x2="62" y2="52" data-type="edge" data-node-from="1" '
        'data-node-to="2"></line><circle r="1.5" cx="36" cy="23" data-type="element node" '
        'data-element-id="1" data-node-id="1" data-label-name="head"></circle>'
        '<circle r="1.5" cx="62" cy="52" data-type="element node" data-element-id="2" '
        'data-node-id="2" data-label-name="foot"></circle>'
    )
    task = {
        "name": "cvat task",
        "bug_tracker": "",
        "status": "annotation",
        "subset": "Train",
        "labels": [
            {
                "name": "car",
                "color": "#fa3253",
                "attributes": [
                    {
                        "name": "color",
                        "mutable": False,
                        "input_type": "select",
                        "default_value": "red",
                        "values": ["red", "blue"],
                    }
                ],
                "type": "rectangle",
                "sublabels": [],
            },
            {
                "name": "body",
                "color": "#33ddff",
                "attributes": [],
                "type": "skeleton",
                "sublabels": [
                    {"name": "head", "color": "#d12345", "attributes": [], "type": "points"},
                    {"name": "foot", "color": "#350dea", "attributes": [], "type": "points"},
                ],
                "svg": svg,
            },
        ],
        "version": version,
        "data": {
            "chunk_size": 72,
            "image_quality": 70,
            "start_frame": 0,
            "stop_frame": 3,
            "storage_method": "cache",
            "storage": "local",
            "sorting_method": "lexicographical",
            "chunk_type": "imageset",
            "deleted_frames": [],
        },
        "jobs": [
            {
                "start_frame": 0,
                "stop_frame": 1,
                "frames": [],
                "status": "completed",
                "type": "annotation",
            },
            {
                "start_frame": 2,
                "stop_frame": 3,
                "frames": [],
                "status": "annotation",
                "type": "annotation",
            },
        ],
        **(extra or {}),
    }
    rect = {
        "type": "rectangle",
        "occluded": False,
        "outside": False,
        "z_order": 0,
        "rotation": 0.0,
        "points": [1.0, 2.0, 11.0, 12.0],
        "frame": 0,
        "group": 0,
        "source": "manual",
        "attributes": [{"name": "color", "value": "blue"}],
        "elements": [],
        "label": "car",
    }
    skeleton = {
        "type": "skeleton",
        "occluded": False,
        "outside": False,
        "z_order": 0,
        "rotation": 0.0,
        "points": [],
        "frame": 2,
        "group": 0,
        "source": "manual",
        "attributes": [],
        "label": "body",
        "elements": [
            {
                "type": "points",
                "occluded": False,
                "outside": False,
                "z_order": 0,
                "rotation": 0.0,
                "points": [5.0, 6.0],
                "frame": 2,
                "group": 0,
                "source": "manual",
                "attributes": [],
                "label": "head",
            },
            {
                "type": "points",
                "occluded": True,
                "outside": False,
                "z_order": 0,
                "rotation": 0.0,
                "points": [7.0, 8.0],
                "frame": 2,
                "group": 0,
                "source": "manual",
                "attributes": [],
                "label": "foot",
            },
        ],
    }
    track = {
        "frame": 2,
        "group": 0,
        "source": "manual",
        "attributes": [{"name": "color", "value": "red"}],
        "label": "car",
        "elements": [],
        "shapes": [
            {
                "type": "rectangle",
                "occluded": False,
                "outside": False,
                "z_order": 0,
                "rotation": 0.0,
                "points": [10.0, 10.0, 20.0, 20.0],
                "frame": 2,
                "attributes": [],
            },
            {
                "type": "rectangle",
                "occluded": False,
                "outside": True,
                "z_order": 0,
                "rotation": 0.0,
                "points": [12.0, 10.0, 22.0, 20.0],
                "frame": 3,
                "attributes": [],
            },
        ],
    }
    annotations = [
        {"version": 3, "tags": [], "shapes": [rect], "tracks": []},
        {"version": 1, "tags": [], "shapes": [skeleton], "tracks": [track]},
    ]
    manifest = [{"version": "1.1"}, {"type": "images"}]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(4):
            name = f"frame_{i:02d}"
            zf.writestr(f"data/{name}.png", png_bytes(50 + i, 40))
            manifest.append(
                {
                    "name": name,
                    "extension": ".png",
                    "width": 50 + i,
                    "height": 40,
                    "meta": {"related_images": []},
                    "checksum": "0" * 32,
                }
            )
        zf.writestr("data/manifest.jsonl", "\n".join(json.dumps(m) for m in manifest) + "\n")
        zf.writestr("task.json", json.dumps(task))
        zf.writestr("annotations.json", json.dumps(annotations))
    return buf.getvalue()


def test_restore_backup_made_by_cvat(admin) -> None:  # type: ignore[no-untyped-def]
    new_id = restore(admin, "task", _cvat_backup(extra={"consensus_replicas": 0}))
    task = admin.get(f"/api/tasks/{new_id}").json()
    assert (task["name"], task["size"], task["subset"], task["segment_size"]) == (
        "cvat task",
        4,
        "Train",
        2,
    )
    meta = admin.get(f"/api/tasks/{new_id}/data/meta").json()
    assert [(f["name"], f["width"]) for f in meta["frames"]] == [
        (f"frame_{i:02d}.png", 50 + i) for i in range(4)
    ]
    assert [j[:4] for j in _jobs(admin, new_id)] == [
        (0, 1, "acceptance", "completed"),
        (2, 3, "annotation", "new"),
    ]
    labels = {lb["name"]: lb for lb in _labels(admin, f"task_id={new_id}")}
    assert labels["body"]["sublabels"] == ["head", "foot"] and labels["body"]["svg_points"] == 2
    assert labels["car"]["attributes"] == [("color", "select", False, ("red", "blue"), "red")]
    shapes = canon_shapes(admin, task)
    assert (
        0,
        "car",
        "rectangle",
        (1.0, 2.0, 11.0, 12.0),
        (("car.color", "blue"),),
        False,
        0.0,
        (),
    ) in shapes
    (skeleton,) = [s for s in shapes if s[2] == "skeleton"]
    assert skeleton[7] == (("body.foot", (7.0, 8.0), True), ("body.head", (5.0, 6.0), False))
    assert _tracks(admin, task) == [
        ("car", 2, 1, ((2, (10.0, 10.0, 20.0, 20.0), False), (3, (12.0, 10.0, 22.0, 20.0), True)))
    ]


def test_bad_backups_fail_and_create_nothing(admin) -> None:  # type: ignore[no-untyped-def]
    def count() -> int:
        return admin.get("/api/tasks").json()["count"]

    before = count()
    cases = {
        "version '2.0' is not supported": _cvat_backup(version="2.0"),
        "outside the archive": _zip_with({"task.json": b"{}", "../x": b"1"}),
        "task.json is missing": _zip_with({"readme.txt": b"hi"}),
        "not a zip archive": b"garbage" * 10,
    }
    for message, data in cases.items():
        status = tus_upload(admin, "/api/tasks/backup/", data, "b.zip", {})
        assert status["status"] == "failed" and message in status["message"], (message, status)
    # a bad label in annotations.json fails after the task was made: it must be gone again
    broken = zipfile.ZipFile(io.BytesIO(_cvat_backup()))
    members = {n: broken.read(n) for n in broken.namelist()}
    members["annotations.json"] = members["annotations.json"].replace(
        b'"label": "car"', b'"label": "tank"'
    )
    status = tus_upload(admin, "/api/tasks/backup/", _zip_with(members), "b.zip", {})
    assert status["status"] == "failed" and "tank" in status["message"], status
    assert count() == before


def _zip_with(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data in members.items():
            zf.writestr(zipfile.ZipInfo(name), data)
    return buf.getvalue()
