"""`labelvault adopt`: a storage laid out as the platform's CVAT periodic backups comes in."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

from click.testing import CliRunner

from labelvault.cli import main
from tests.conftest import LABELS
from tests.datasets.conftest import label_ids, sample_annotations
from tests.datasets.test_backup import backup, restore
from tests.datasets.test_cvat_backups import FIXTURES
from tests.helpers.servers import webdav_server_factory  # noqa: F401  (fixture)

OLD, NEW, NEWER = "2026_01_05_10_00_00", "2026_01_06_10_00_00", "2026_01_06_11_30_00"


def _annotations_xml(project: dict, tasks: list[tuple[dict, list[str]]]) -> str:
    """A project's annotation-only export as CVAT 2.28 writes it ("CVAT for images 1.1",
    save_images=false): tasks in <meta>, each image with its task_id, ids across the project."""
    meta_tasks = "".join(
        f"<task><id>{t['id']}</id><name>{t['name']}</name><size>{len(names)}</size></task>"
        for t, names in tasks
    )
    labels = "".join(
        f"<label><name>{lbl['name']}</name><type>any</type><attributes/></label>"
        for lbl in LABELS
        if lbl["name"] in ("car", "person")
    )
    images, frame = [], 0
    for number, (task, names) in enumerate(tasks):
        for i, name in enumerate(names):
            # task n gets n+1 boxes on its first frame: the counts tell the tasks apart
            boxes = "".join(
                f'<box label="person" source="manual" occluded="0" xtl="{1 + k}" ytl="2" '
                f'xbr="{10 + k}" ybr="12" z_order="0"></box>'
                for k in range(number + 1 if i == 0 else 0)
            )
            images.append(
                f'<image id="{frame}" name="{name}" subset="default" task_id="{task["id"]}" '
                f'width="64" height="48">{boxes}</image>'
            )
            frame += 1
    # A track of the first task, on its first two frames (frame ids count across the
    # project, so without its task_id the other task would take it on its own frames 0, 1).
    owner, first = tasks[0][0], 0
    track = (
        f'<track id="0" label="car" source="manual" task_id="{owner["id"]}" subset="default">'
        + "".join(
            f'<box frame="{first + k}" keyframe="1" outside="{k}" occluded="0" xtl="5" ytl="5" '
            f'xbr="20" ybr="20" z_order="0"></box>'
            for k in (0, 1)
        )
        + "</track>"
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n<annotations><version>1.1</version><meta>'
        f"<project><id>{project['id']}</id><name>{project['name']}</name>"
        f"<tasks>{meta_tasks}</tasks><labels>{labels}</labels></project></meta>"
        f"{''.join(images)}{track}</annotations>"
    )


def _cvat_project_backup(name: str) -> tuple[bytes, bytes]:
    """A project backup around CVAT's own task backup (CVAT's layout: project.json, task_0/)."""
    task = (FIXTURES / "task_30_backup_pre_consensus_replica_removal.zip").read_bytes()
    inner = zipfile.ZipFile(io.BytesIO(task))
    labels = json.loads(inner.read("task.json"))["labels"]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        project = {"name": name, "bug_tracker": "", "labels": labels, "version": "1.0"}
        zf.writestr("project.json", json.dumps(project))
        for member in inner.namelist():
            zf.writestr(f"task_0/{member}", inner.read(member))
    return buf.getvalue(), task


def _frame_names(client, task_id: int) -> list[str]:  # type: ignore[no-untyped-def]
    return [f["name"] for f in client.get(f"/api/tasks/{task_id}/data/meta").json()["frames"]]


def _state(client) -> dict[str, list[tuple[str, int, int, int, int]]]:  # type: ignore[no-untyped-def]
    """Per project name: (task name, frames, shapes, tags, tracks) of each task, by REST."""
    out: dict[str, list[tuple[str, int, int, int, int]]] = {}
    for project in client.get("/api/projects?page_size=100").json()["results"]:
        rows = []
        query = {"project_id": project["id"], "page_size": 100}
        for task in client.get("/api/tasks", params=query).json()["results"]:
            data = client.get(f"/api/tasks/{task['id']}/annotations").json()
            counts = (len(data["shapes"]), len(data["tags"]), len(data["tracks"]))
            rows.append((task["name"], task["size"], *counts))
        out.setdefault(project["name"], []).extend(sorted(rows))
    return out


def test_adopt_periodic_backups_once(  # type: ignore[no-untyped-def]
    admin,
    task_with_data,
    database,
    settings,
    tmp_path,
    webdav_server_factory,  # noqa: F811
) -> None:
    storage = tmp_path / "dav" / "labelvault"  # a folder, and the same files over WebDAV
    cars = admin.post("/api/projects", json={"name": "Cars", "labels": LABELS}).json()
    roads = admin.post("/api/projects", json={"name": "Roads", "labels": LABELS}).json()
    car_tasks = [
        task_with_data(project_id=cars["id"], frames=2, name="day"),
        task_with_data(project_id=cars["id"], frames=3, name="night"),
    ]
    road = task_with_data(project_id=roads["id"], frames=2, name="north")
    old_cars = backup(admin, f"/api/projects/{cars['id']}")  # before any annotation
    for task in (*car_tasks, road):
        data = sample_annotations(label_ids(admin, task), task["size"])
        assert admin.put(f"/api/tasks/{task['id']}/annotations", json=data).status_code == 200
    pets, cvat_task = _cvat_project_backup("Pets")
    # What CVAT's "create from backup" of that task gives here: the project's should match.
    alone = restore(admin, "task", cvat_task)
    task = admin.get(f"/api/tasks/{alone}").json()
    data = admin.get(f"/api/tasks/{alone}/annotations").json()
    pets_row = (
        task["name"],
        task["size"],
        len(data["shapes"]),
        len(data["tags"]),
        len(data["tracks"]),
    )
    assert task["size"] > 0 and len(data["shapes"]) > 0
    assert admin.delete(f"/api/tasks/{alone}").status_code == 204
    expected_backup = _state(admin) | {"Pets": [pets_row]}
    names = [(t, _frame_names(admin, t["id"])) for t in car_tasks]
    xml = _annotations_xml(cars, names)
    files = {
        "Cars/project_cars_backup_" + OLD + ".zip": old_cars,
        "Cars/project_cars_backup_" + NEW + ".zip": backup(admin, f"/api/projects/{cars['id']}"),
        "Roads/project_roads_backup_" + NEW + ".zip": backup(admin, f"/api/projects/{roads['id']}"),
        "Pets/project_pets_backup_" + OLD + ".zip": pets,
        "Broken/project_broken_backup_" + NEW + ".zip": b"not a zip",
    }
    for rel, data in files.items():
        (storage / "backups-periodic" / rel).parent.mkdir(parents=True, exist_ok=True)
        (storage / "backups-periodic" / rel).write_bytes(data)
    for project in (cars, roads):
        assert admin.delete(f"/api/projects/{project['id']}").status_code == 204

    url = database.engine.url.render_as_string(hide_password=False)
    args = ["adopt", str(storage), "--data-dir", str(settings.data_dir), "--database-url", url]
    runner = CliRunner()

    dry = runner.invoke(main, [*args, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert f"Cars: restore project_cars_backup_{NEW}.zip" in dry.output
    assert admin.get("/api/projects").json()["count"] == 0  # a dry run writes nothing

    # First run: the newest full backups only (the old one had no annotations).
    # A broken archive fails alone (and is tried again next time); the others come in.
    first = runner.invoke(main, args)
    assert first.exit_code == 1, first.output
    assert "Broken: FAILED" in first.output
    assert _state(admin) == expected_backup
    assert f"Cars: restored project_cars_backup_{NEW}.zip; project" in first.output
    assert "has 2 task(s), 5 frame(s)" in first.output
    (storage / "backups-periodic" / "Broken").rename(tmp_path / "Broken")

    # An annotation-only archive newer than the backup replaces Cars' annotations; this
    # time read over WebDAV: what was adopted is known whichever way the files are reached.
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("annotations.xml", xml)
    name = f"project_cars_annotations_{NEWER}_cvat for images 1.1.zip"
    (storage / "backups-periodic" / "Cars" / name).write_bytes(buf.getvalue())
    dav = webdav_server_factory(tmp_path / "dav").url()
    second = runner.invoke(main, ["adopt", dav, *args[2:]])
    assert second.exit_code == 0, second.output
    assert f"applied {name}: 3 shapes, 0 tags, 1 tracks" in second.output
    assert "Roads: nothing new" in second.output
    after = _state(admin)
    # Each task got its own boxes and only its own track (items routed by their task_id).
    assert after["Cars"] == [("day", 2, 1, 0, 1), ("night", 3, 2, 0, 0)]
    assert after["Roads"] == expected_backup["Roads"]
    assert after["Pets"] == expected_backup["Pets"]

    # Again: everything was adopted, nothing doubles.
    third = runner.invoke(main, args)
    assert third.exit_code == 0, third.output
    assert "Cars: nothing new" in third.output
    assert _state(admin) == after
    assert admin.get("/api/projects").json()["count"] == 3


def test_adopt_refuses_storage_without_backups(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    result = CliRunner().invoke(main, ["adopt", str(tmp_path), "--data-dir", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "no CVAT backups" in result.output
