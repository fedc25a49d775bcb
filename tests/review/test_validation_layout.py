"""CVAT's validation layout (tasks, jobs) and the task status: values and refusals."""

from __future__ import annotations


def test_task_status_follows_the_data_upload(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=2)
    status = admin.get(f"/api/tasks/{task['id']}/status")
    assert status.status_code == 200, status.text
    assert status.json() == {"state": "Finished", "message": "Created 2 frames", "progress": 100.0}
    bare = admin.post("/api/tasks", json={"name": "bare", "labels": []}).json()
    empty = admin.get(f"/api/tasks/{bare['id']}/status").json()
    assert empty["state"] == "Failed" and "No data" in empty["message"]
    assert admin.get("/api/tasks/999999/status").status_code == 404


def test_validation_layout_is_the_ground_truth_job(admin, task_with_data, make_user) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=4, segment_size=2)
    url = f"/api/tasks/{task['id']}/validation_layout"
    none = admin.get(url)
    assert none.status_code == 200
    assert none.json()["mode"] is None and none.json()["validation_frames"] == []
    refused = admin.patch(url, json={"disabled_frames": [0]})
    assert refused.status_code == 400 and "ground-truth job" in refused.json()["detail"]

    gt = admin.post(
        "/api/jobs",
        json={
            "type": "ground_truth",
            "task_id": task["id"],
            "frame_selection_method": "manual",
            "frames": [3, 1],
        },
    )
    assert gt.status_code == 201, gt.text
    layout = admin.get(url).json()
    assert (layout["mode"], layout["validation_frames"], layout["honeypot_count"]) == (
        "gt",
        [1, 3],
        0,
    )
    assert admin.patch(url, json={}).json() == layout
    honey = admin.patch(url, json={"frame_selection_method": "manual", "honeypot_real_frames": [1]})
    assert honey.status_code == 400 and "gt_pool" in honey.text
    disabled = admin.patch(url, json={"disabled_frames": [1]})
    assert disabled.status_code == 400 and "disabled_frames" in disabled.text
    assert admin.get(url).json() == layout  # nothing changed by the refusals

    job = admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
    job_url = f"/api/jobs/{job['id']}/validation_layout"
    assert admin.get(job_url).json() == {
        "honeypot_count": 0,
        "honeypot_frames": [],
        "honeypot_real_frames": [],
    }
    assert admin.patch(job_url, json={"honeypot_real_frames": [1]}).status_code == 400

    # Someone who cannot see the task sees neither.
    stranger = make_user("stranger")
    assert stranger.get(url).status_code in (403, 404)
    assert stranger.get(job_url).status_code in (403, 404)
