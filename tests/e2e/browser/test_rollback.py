"""Browser test of the project page's "Roll back…" dialog against a live server."""

from __future__ import annotations

import time
from typing import Any

import httpx

from tests.e2e.browser.conftest import first_job, job_shapes, login, png_bytes


def _save_box(api: httpx.Client, job_id: int, label_id: int, x: float) -> None:
    shape = {"type": "rectangle", "frame": 0, "label_id": label_id, "points": [x, 10, x + 50, 60]}
    r = api.put(
        f"/api/jobs/{job_id}/annotations", json={"shapes": [shape], "tags": [], "tracks": []}
    )
    assert r.status_code == 200, r.text


def _wait_request(api: httpx.Client, rq_id: str) -> dict:
    for _ in range(600):
        rq = api.get(f"/api/requests/{rq_id}").json()
        if rq["status"] in ("finished", "failed"):
            return rq
        time.sleep(0.1)
    raise AssertionError(f"request {rq_id} did not end")


def test_the_project_page_rolls_the_annotations_back_to_a_time(
    page: Any, api: httpx.Client
) -> None:
    project = api.post(
        "/api/projects", json={"name": "Rollback", "labels": [{"name": "car", "type": "any"}]}
    ).json()
    task = api.post("/api/tasks", json={"name": "rollback", "project_id": project["id"]}).json()
    files = {"client_files[0]": ("frame_000.png", png_bytes())}
    r = api.post(f"/api/tasks/{task['id']}/data", files=files, data={"image_quality": "80"})
    assert r.status_code == 202, r.text
    assert _wait_request(api, r.json()["rq_id"])["status"] == "finished"
    label = api.get("/api/labels", params={"project_id": project["id"]}).json()["results"][0]
    job = first_job(api, task["id"])["id"]
    _save_box(api, job, label["id"], 10.0)
    old = job_shapes(api, job)
    snap = _wait_request(api, api.post("/api/snapshots").json()["rq_id"])
    assert snap["status"] == "finished", snap
    created = api.get(f"/api/snapshots/{snap['message']}").json()["created"]
    # The picker has whole seconds: the later save must come after the second the dialog
    # rounds the snapshot's time up to.
    time.sleep(1.1)
    _save_box(api, job, label["id"], 200.0)
    assert job_shapes(api, job)[0]["points"] != old[0]["points"]

    login(page)
    page.goto(f"/projects/{project['id']}")
    page.get_by_role("button", name="Roll back…").click()
    dialog = page.get_by_role("dialog", name="Roll back the project")
    dialog.get_by_text("a full backup of the project is taken first").wait_for()
    picker = dialog.get_by_label("Roll back to")
    assert picker.get_attribute("min")  # bounded by /rollback/points
    # The snapshot's second, rounded up, in the browser's local time: before the later save.
    value = page.evaluate(
        """iso => {
          const d = new Date(Math.ceil(Date.parse(iso) / 1000) * 1000);
          const p = (n) => String(n).padStart(2, '0');
          const day = `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}`;
          return `${day}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
        }""",
        created,
    )
    picker.fill(value)
    dialog.get_by_role("button", name="Roll back").click()
    result = dialog.get_by_role("status").filter(has_text="jobs restored")
    result.wait_for(timeout=60000)
    assert "1 jobs restored" in result.inner_text()
    assert "safety backup" in result.inner_text()

    shapes = job_shapes(api, job)
    assert [s["points"] for s in shapes] == [s["points"] for s in old]
    backups = api.get("/api/backups", params={"project_id": project["id"], "kind": "full"})
    assert [b["reason"] for b in backups.json()["results"]] == ["safety"]
