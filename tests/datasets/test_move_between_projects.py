"""Annotated tasks moved between projects keep every object, then export and back up."""

from __future__ import annotations

import io
import zipfile
from typing import Any

from tests.conftest import LABELS
from tests.datasets.conftest import canon_shapes, export, label_ids, wait_request


def _tracks(client: Any, task: dict) -> list[tuple]:
    names = {v: k for k, v in label_ids(client, task, attrs=False).items()}
    specs = {v: k for k, v in label_ids(client, task).items() if k not in names.values()}
    data = client.get(f"/api/tasks/{task['id']}/annotations").json()
    out = []
    for track in data["tracks"]:
        attrs = tuple(sorted((specs[a["spec_id"]], a["value"]) for a in track["attributes"]))
        keys = tuple((s["frame"], tuple(s["points"]), s["outside"]) for s in track["shapes"])
        out.append((names[track["label_id"]], attrs, keys))
    return sorted(out)


def _project(client: Any, name: str, labels: list[dict]) -> dict:
    response = client.post("/api/projects", json={"name": name, "labels": labels})
    assert response.status_code == 201, response.text
    return response.json()


def _move(client: Any, task: dict, project_id: int) -> dict:
    response = client.patch(f"/api/tasks/{task['id']}", json={"project_id": project_id})
    assert response.status_code == 200, response.text
    assert response.json()["project_id"] == project_id
    return response.json()


def test_move_annotated_tasks_between_projects_and_back(admin, annotated_task) -> None:  # type: ignore[no-untyped-def]
    task = annotated_task(tracks=True)
    shapes, tracks = canon_shapes(admin, task), _tracks(admin, task)
    assert len(shapes) > 5 and len(tracks) == 1
    first = _project(admin, "first", LABELS)
    # Another order and one more label: every id differs from the first project's.
    second = _project(admin, "second", [{"name": "extra"}, *reversed(LABELS)])
    lacking = _project(
        admin,
        "lacking",
        [
            {**LABELS[0], "attributes": LABELS[0]["attributes"][:2]},
            LABELS[1],
        ],
    )
    for target in (first, second, first):
        task = _move(admin, task, target["id"])
        # canon_* read names through the project's labels: an old id would be a KeyError.
        assert canon_shapes(admin, task) == shapes
        assert _tracks(admin, task) == tracks
        project_labels = set(label_ids(admin, task).values())
        data = admin.get(f"/api/tasks/{task['id']}/annotations").json()
        used = {o["label_id"] for kind in ("tags", "shapes", "tracks") for o in data[kind]}
        assert used <= project_labels

    response = admin.patch(f"/api/tasks/{task['id']}", json={"project_id": lacking["id"]})
    assert response.status_code == 400
    detail = response.json()["detail"]
    for missing in ("'weather'", "'body'", "'body.head'", "'car' with attribute 'speed'"):
        assert missing in detail, detail
    assert admin.get(f"/api/tasks/{task['id']}").json()["project_id"] == first["id"]
    assert canon_shapes(admin, task) == shapes

    # A second task, straight from its own labels into the second project.
    other = _move(admin, annotated_task(tracks=True), second["id"])
    assert canon_shapes(admin, other) == shapes

    formats = admin.get("/api/server/annotation/formats").json()["exporters"]
    names = [f["name"] for f in formats if f.get("enabled", True)]
    assert len(names) > 10
    for base in (f"/api/tasks/{task['id']}", f"/api/projects/{first['id']}"):
        for name in names:
            if "3D" in name or name.startswith("Kitti Raw") or name.startswith("Sly Point"):
                continue
            content = export(admin, base, name)
            assert zipfile.ZipFile(io.BytesIO(content)).namelist(), name
    for base in (f"/api/tasks/{task['id']}", f"/api/projects/{second['id']}"):
        status = wait_request(admin, admin.post(f"{base}/backup/export"))
        assert status["status"] == "finished", status
        backup = admin.get(status["result_url"].removeprefix("http://testserver"))
        assert backup.status_code == 200
        assert "task.json" in str(zipfile.ZipFile(io.BytesIO(backup.content)).namelist())
