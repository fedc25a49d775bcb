"""cvat-cli 2.80.0 `project ...` commands against a live LabelVault; effects checked on it."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from tests.helpers.compat import (
    LABELS,
    Live,
    archive_images,
    labels_json,
    sample_annotations,
    shape_summary,
    source_frames,
    write_images,
)

pytestmark = pytest.mark.e2e
FAST = ("--completion_verification_period", "0.1")

SKELETON = {
    "name": "body",
    "type": "skeleton",
    "sublabels": [{"name": "head", "type": "points"}, {"name": "foot", "type": "points"}],
    "svg": '<line x1="1" y1="1" x2="2" y2="2" data-node-from="1" data-node-to="2"/>'
    '<circle r="1" cx="1" cy="1" data-label-name="head" data-node-id="1"/>'
    '<circle r="1" cx="2" cy="2" data-label-name="foot" data-node-id="2"/>',
}


def _create_project(live: Live, name: str, *args: str) -> int:
    out = live.cli_ok("project", "create", name, *args, *FAST)
    return int(out.split()[-1])


def _names(live: Live, **query: int) -> dict[int, str]:
    return {label["id"]: label["name"] for label in live.labels(**query)}


def _project_tasks(live: Live, project_id: int) -> list[dict]:
    tasks = live.api().get("/api/tasks", params={"project_id": project_id}).json()["results"]
    return [t for t in tasks if t["project_id"] == project_id]


@pytest.fixture(scope="module")
def annotated_project(live: Live, tmp_path_factory: pytest.TempPathFactory) -> int:
    """A project with labels and one annotated 3-frame task, made with the CLI."""
    folder = tmp_path_factory.mktemp(f"project-{live.backend}")
    project_id = _create_project(live, "annotated project", "--labels", labels_json())
    out = live.cli_ok(
        "task",
        "create",
        "project task",
        "local",
        *map(str, write_images(folder)),
        "--project_id",
        str(project_id),
        *FAST,
    )
    task_id = int(out.split()[-1])
    response = live.api().put(
        f"/api/tasks/{task_id}/annotations/", json=sample_annotations(live, task_id)
    )
    assert response.status_code == 200, response.text
    return project_id


def test_create_with_labels_json_and_file(live: Live, tmp_path: Path) -> None:
    labels = [*LABELS, SKELETON]
    project_id = _create_project(
        live, "labels", "--labels", json.dumps(labels), "--bug_tracker", "https://bugs.example/p"
    )
    project = live.api().get(f"/api/projects/{project_id}").json()
    assert project["name"] == "labels"
    assert project["bug_tracker"] == "https://bugs.example/p"
    read = {label["name"]: label for label in live.labels(project_id=project_id)}
    assert set(read) == {"car", "person", "sky", "body"}
    assert read["car"]["color"] == "#ff0000"
    assert read["car"]["attributes"][0]["values"] == ["red", "blue"]
    assert read["sky"]["type"] == "tag"
    assert {s["name"] for s in read["body"]["sublabels"]} == {"head", "foot"}
    assert all(isinstance(label["id"], int) for label in read.values())

    labels_file = tmp_path / "labels.json"
    labels_file.write_text(json.dumps([{"name": "from file"}]))
    project_id = _create_project(live, "labels from file", "--labels", str(labels_file))
    assert [label["name"] for label in live.labels(project_id=project_id)] == ["from file"]


def test_ls_and_json(live: Live, annotated_project: int) -> None:
    ids = [int(x) for x in live.cli_ok("project", "ls").split()]
    assert annotated_project in ids
    assert len(ids) == live.api().get("/api/projects").json()["count"] == len(set(ids))
    listed = json.loads(live.cli_ok("project", "ls", "--json"))
    mine = next(p for p in listed if p["id"] == annotated_project)
    assert mine["name"] == "annotated project"
    assert mine["tasks"]["count"] == 1


def test_delete(live: Live, tmp_path: Path) -> None:
    project_id = _create_project(live, "to delete", "--labels", labels_json())
    out = live.cli_ok(
        "task",
        "create",
        "doomed",
        "local",
        str(write_images(tmp_path, count=1)[0]),
        "--project_id",
        str(project_id),
        *FAST,
    )
    task_id = int(out.split()[-1])
    result = live.cli("project", "delete", str(project_id), "987654")
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert live.api().get(f"/api/projects/{project_id}").status_code == 404
    assert live.api().get(f"/api/tasks/{task_id}").status_code == 404


def test_backup_and_restore(live: Live, annotated_project: int, tmp_path: Path) -> None:
    target = tmp_path / "project-backup.zip"
    live.cli_ok("project", "backup", str(annotated_project), str(target), *FAST)
    with zipfile.ZipFile(target) as archive:
        names = archive.namelist()
        project_json = json.loads(archive.read("project.json"))
    assert project_json["name"] == "annotated project"
    assert {label["name"] for label in project_json["labels"]} == {"car", "person", "sky"}
    assert any(n.endswith("task.json") for n in names)
    assert sum(n.endswith(".png") for n in names) == 3

    restored = int(live.cli_ok("project", "create-from-backup", str(target), *FAST).split()[-1])
    assert restored != annotated_project
    project = live.api().get(f"/api/projects/{restored}").json()
    assert project["name"] == "annotated project"
    tasks = _project_tasks(live, restored)
    assert [t["size"] for t in tasks] == [3]
    old_task = _project_tasks(live, annotated_project)[0]["id"]
    assert shape_summary(live.annotations(tasks[0]["id"]), _names(live, project_id=restored)) == (
        shape_summary(live.annotations(old_task), _names(live, project_id=annotated_project))
    )


@pytest.mark.parametrize("with_images", [False, True], ids=["no-images", "images"])
@pytest.mark.parametrize("fmt", ["CVAT for images 1.1", "COCO 1.0", "Datumaro 1.0"])
def test_export_dataset(
    live: Live, annotated_project: int, tmp_path: Path, fmt: str, with_images: bool
) -> None:
    target = tmp_path / "project.zip"
    live.cli_ok(
        "project",
        "export-dataset",
        str(annotated_project),
        str(target),
        "--format",
        fmt,
        "--with-images",
        str(with_images),
        *FAST,
    )
    data = target.read_bytes()
    assert source_frames(archive_images(data)) == ({0, 1, 2} if with_images else set())
    text = "\n".join(
        zipfile.ZipFile(target).read(n).decode("utf-8", "replace")
        for n in zipfile.ZipFile(target).namelist()
        if n.endswith((".xml", ".json"))
    )
    assert "car" in text and "person" in text
    if fmt == "COCO 1.0":
        coco = json.loads(
            next(
                zipfile.ZipFile(target).read(n)
                for n in zipfile.ZipFile(target).namelist()
                if n.endswith(".json")
            )
        )
        assert len(coco["annotations"]) == 3


def _dataset_zip(live: Live, project_id: int, tmp_path: Path) -> Path:
    target = tmp_path / "dataset.zip"
    live.cli_ok(
        "project",
        "export-dataset",
        str(project_id),
        str(target),
        "--format",
        "CVAT for images 1.1",
        "--with-images",
        "True",
        *FAST,
    )
    return target


def test_import_dataset(live: Live, annotated_project: int, tmp_path: Path) -> None:
    dataset = _dataset_zip(live, annotated_project, tmp_path)
    project_id = _create_project(live, "import target", "--labels", labels_json())
    live.cli_ok("project", "import-dataset", str(project_id), str(dataset), "--format", "CVAT 1.1")
    tasks = _project_tasks(live, project_id)
    assert len(tasks) == 1 and tasks[0]["size"] == 3
    old_task = _project_tasks(live, annotated_project)[0]["id"]
    assert shape_summary(live.annotations(tasks[0]["id"]), _names(live, project_id=project_id)) == (
        shape_summary(live.annotations(old_task), _names(live, project_id=annotated_project))
    )


def test_create_with_dataset_path(live: Live, annotated_project: int, tmp_path: Path) -> None:
    dataset = _dataset_zip(live, annotated_project, tmp_path)
    project_id = _create_project(
        live,
        "from dataset",
        "--labels",
        labels_json(),
        "--dataset_path",
        str(dataset),
        "--dataset_format",
        "CVAT 1.1",
    )
    tasks = _project_tasks(live, project_id)
    assert len(tasks) == 1 and tasks[0]["size"] == 3
    data = live.annotations(tasks[0]["id"])
    assert len(data["shapes"]) == 3 and len(data["tags"]) == 1
