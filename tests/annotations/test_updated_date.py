"""Every annotation change moves the updated_date of its job, task and project (as CVAT)."""

from __future__ import annotations

import time
from typing import Any


def _dates(client: Any, task: dict, project_id: int) -> tuple[str, str, str]:
    job = client.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    return (
        client.get(f"/api/jobs/{job['id']}").json()["updated_date"],
        client.get(f"/api/tasks/{task['id']}").json()["updated_date"],
        client.get(f"/api/projects/{project_id}").json()["updated_date"],
    )


def test_updated_date_moves_with_every_annotation_change(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    project = admin.post("/api/projects", json={"name": "p", "labels": [{"name": "car"}]}).json()
    task = task_with_data(project_id=project["id"], frames=2)
    label = admin.get("/api/labels", params={"project_id": project["id"]}).json()["results"][0]
    job_id = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]["id"]
    box = {"type": "rectangle", "frame": 0, "label_id": label["id"], "points": [1, 1, 5, 5]}
    created: dict = {}

    def put() -> None:
        admin.put(f"/api/tasks/{task['id']}/annotations", json={"shapes": [box]})

    def create() -> None:
        reply = admin.patch(f"/api/jobs/{job_id}/annotations?action=create", json={"shapes": [box]})
        created.update(reply.json()["shapes"][0])

    def update() -> None:
        moved = {**created, "points": [2, 2, 6, 6]}
        admin.patch(f"/api/jobs/{job_id}/annotations?action=update", json={"shapes": [moved]})

    def delete_one() -> None:
        admin.patch(
            f"/api/jobs/{job_id}/annotations?action=delete",
            json={"shapes": [{"id": created["id"]}]},
        )

    def clear() -> None:
        admin.delete(f"/api/tasks/{task['id']}/annotations")

    before = _dates(admin, task, project["id"])
    for change in (put, create, update, delete_one, clear):
        time.sleep(0.01)  # dates have microseconds; make the next one distinct
        change()
        after = _dates(admin, task, project["id"])
        assert all(b < a for b, a in zip(before, after, strict=True)), (change.__name__, after)
        before = after
