"""kill -9 of a real `labelvault serve` in the middle of a big save, a task creation, a project
backup and a snapshot to WebDAV, on SQLite and PostgreSQL.

After each kill: the job holds all-old or all-new objects, no half object (storage temporary,
local scratch file, half-made task data) is left or listed, the database is intact, the
server restarts, and the next run of the same operation succeeds.
"""

from __future__ import annotations

import io
import os
import threading
import time
import zipfile
from pathlib import Path
from typing import Any

import httpx
from PIL import Image

from tests.backups.test_journal_crash import LiveServer, make_task
from tests.conftest import LABELS, png_bytes
from tests.faults.harness import (
    Node,
    copying,
    wait_request,
    writing,
)
from tests.helpers.backups import labels_by_name

SHAPES = 100_000
IMAGES = 2_000


def _killed_during(
    server: LiveServer, send: Any, moment: threading.Event, settle: float = 0.3
) -> Any:
    """Run `send()` in a thread; SIGKILL the server at `moment`. The reply it got, if any."""
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            outcome["reply"] = send()
        except httpx.HTTPError as exc:  # the connection dies with the server
            outcome["error"] = exc

    thread = threading.Thread(target=run)
    thread.start()
    assert moment.wait(timeout=120), "the operation never reached the moment to kill"
    time.sleep(settle)  # well inside it
    server.kill9()
    thread.join(timeout=120)
    return outcome.get("reply")


def _shapes(label_id: int, x: float) -> dict[str, Any]:
    shape = {"type": "rectangle", "frame": 0, "label_id": label_id, "attributes": []}
    return {
        "version": 0,
        "tags": [],
        "tracks": [],
        "shapes": [{**shape, "points": [x, float(i % 500), x + 5, 9.0]} for i in range(SHAPES)],
    }


def _xs(client: httpx.Client, job_id: int) -> tuple[int, set[float]]:
    shapes = client.get(f"/api/jobs/{job_id}/annotations").json()["shapes"]
    return len(shapes), {s["points"][0] for s in shapes}


def test_kill_9_during_a_100000_shape_put(node: Node) -> None:
    client = node.server.client()
    project_id = make_task(client)
    label = labels_by_name(client, project_id)["car"]["id"]
    job = client.get("/api/jobs").json()["results"][0]["id"]
    url = f"/api/jobs/{job}/annotations"
    old = client.put(url, json=_shapes(label, 1.0), timeout=300)
    assert old.status_code == 200, old.text

    # The same save with new values, killed while the server writes it to the database:
    # PostgreSQL shows its COPY; for SQLite, the server process has written 256 KiB more.
    new = _shapes(label, 2.0)
    assert node.server.proc is not None
    if node.server.database_url:
        moment = copying(node.server.database_url, "shapes")
    else:
        moment = writing(node.server.proc.pid, more_than=256 * 1024)
    reply = _killed_during(
        node.server, lambda: client.put(url, json=new, timeout=300), moment, settle=0
    )
    assert reply is None, "the save was answered before the kill"
    client = node.restart()
    count, xs = _xs(client, job)
    # All-old or all-new, never a mix or a part: unacknowledged, either is right, and a
    # kill inside PostgreSQL's open COPY must leave the old ones.
    assert count == SHAPES and len(xs) == 1 and xs <= {1.0, 2.0}, (count, sorted(xs)[:5])
    if node.server.database_url:
        assert xs == {1.0}
    assert node.leftovers() == []

    again = client.put(url, json=_shapes(label, 3.0), timeout=300)
    assert again.status_code == 200, again.text
    assert _xs(client, job) == (SHAPES, {3.0})


def _upload_images(client: httpx.Client, task_id: int) -> str:
    base = f"/api/tasks/{task_id}/data/"
    assert client.post(base, headers={"Upload-Start": ""}).status_code == 202
    image = png_bytes(8, 8)
    for start in range(0, IMAGES, 500):
        files = [
            (f"client_files[{i}]", (f"f{i:04d}.png", image, "image/png"))
            for i in range(start, start + 500)
        ]
        response = client.post(base, headers={"Upload-Multiple": ""}, files=files)
        assert response.status_code == 200, response.text
    finish = client.post(base, headers={"Upload-Finish": ""}, json={"image_quality": 70})
    assert finish.status_code == 202, finish.text
    return finish.json()["rq_id"]


def _task_files(node: Node, task_id: int) -> list[Path]:
    folder = node.server.data_dir / "media" / "tasks" / str(task_id)
    return [p for p in folder.rglob("*") if p.is_file()] if folder.exists() else []


def test_kill_9_during_task_creation_from_2000_images(node: Node) -> None:
    client = node.server.client()
    project = client.post("/api/projects", json={"name": "many", "labels": LABELS}).json()
    task = client.post("/api/tasks", json={"name": "t", "project_id": project["id"]}).json()
    rq = _upload_images(client, task["id"])
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        status = client.get(f"/api/requests/{rq}").json()
        assert status["status"] not in ("finished", "failed"), f"ended before the kill: {status}"
        if status["status"] == "started" and status["progress"]:
            break
        time.sleep(0.02)
    node.server.kill9()

    client = node.restart()
    status = client.get(f"/api/requests/{rq}").json()
    assert status["status"] == "failed" and "restart" in status["message"], status
    after = client.get(f"/api/tasks/{task['id']}").json()
    # Nothing half-made: no frames, no jobs, no files of the task.
    assert after["size"] == 0, after
    assert client.get("/api/jobs", params={"task_id": task["id"]}).json()["count"] == 0
    assert _task_files(node, task["id"]) == []
    assert not (node.server.data_dir / "uploads" / f"task-{task['id']}-data").exists()
    assert node.leftovers() == []

    # The same creation, run again on the same task, goes through.
    done = wait_request(client, _upload_images(client, task["id"]), ("finished", "failed"))
    assert done["status"] == "finished", done
    meta = client.get(f"/api/tasks/{task['id']}/data/meta").json()
    assert client.get(f"/api/tasks/{task['id']}").json()["size"] == IMAGES
    assert len(meta["frames"]) == IMAGES


def _noisy_project(client: httpx.Client) -> int:
    """A project whose backup and snapshot take a few seconds over the slowed link."""
    project_id = make_task(client)
    task = client.post("/api/tasks", json={"name": "noise", "project_id": project_id}).json()
    base = f"/api/tasks/{task['id']}/data/"
    assert client.post(base, headers={"Upload-Start": ""}).status_code == 202
    files = []
    for i in range(3):
        buffer = io.BytesIO()
        Image.frombytes("RGB", (256, 256), os.urandom(256 * 256 * 3)).save(buffer, "PNG")
        files.append((f"client_files[{i}]", (f"n{i}.png", buffer.getvalue(), "image/png")))
    client.post(base, headers={"Upload-Multiple": ""}, files=files)
    rq = client.post(base, headers={"Upload-Finish": ""}, json={"image_quality": 70}).json()
    assert wait_request(client, rq["rq_id"], ("finished", "failed"))["status"] == "finished"
    return project_id


def _backups(client: httpx.Client, project_id: int) -> list[dict[str, Any]]:
    return client.get("/api/backups", params={"project_id": project_id}).json()["results"]


def test_kill_9_during_a_project_backup(node: Node) -> None:
    client = node.server.client()
    project_id = _noisy_project(client)
    link = node.slow_uploads_of("/backups-periodic/")
    body = {"project_id": project_id, "kind": "full"}
    rq = client.post("/api/backups", json=body).json()["rq_id"]
    _killed_during(node.server, lambda: None, link.started)
    assert node.leftovers(), "the kill should have cut an upload"

    client = node.restart()
    assert wait_request(client, rq, ("failed",))["message"]
    # No half backup is listed, and none is left in the storage or the data dir.
    assert _backups(client, project_id) == []
    assert node.leftovers() == []

    rq = client.post("/api/backups", json=body).json()["rq_id"]
    assert wait_request(client, rq, ("finished", "failed"))["status"] == "finished"
    [made] = _backups(client, project_id)
    download = client.get(f"/api/backups/{made['id']}/download")
    assert download.status_code == 200, download.text
    with zipfile.ZipFile(io.BytesIO(download.content)) as zf:
        assert zf.testzip() is None and "project.json" in zf.namelist()
    assert node.leftovers() == []


def _snapshots(client: httpx.Client) -> list[dict[str, Any]]:
    response = client.get("/api/snapshots")
    assert response.status_code == 200, response.text
    return response.json()["results"]


def test_kill_9_during_a_snapshot_to_webdav(node: Node) -> None:
    client = node.server.client()
    _noisy_project(client)
    before = _snapshots(client)
    link = node.slow_uploads_of("/snapshots/")
    rq = client.post("/api/snapshots").json()["rq_id"]
    _killed_during(node.server, lambda: None, link.started)
    assert node.leftovers(), "the kill should have cut an upload"

    client = node.restart()
    assert wait_request(client, rq, ("failed",))["message"]
    assert _snapshots(client) == before  # the cut one is not listed
    assert node.leftovers() == []

    rq = client.post("/api/snapshots").json()["rq_id"]
    assert wait_request(client, rq, ("finished", "failed"))["status"] == "finished"
    after = _snapshots(client)
    assert len(after) == len(before) + 1
    assert node.leftovers() == []
