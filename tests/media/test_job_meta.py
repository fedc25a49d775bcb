"""PATCH /api/jobs/{id}/data/meta: a job's deleted frames, as CVAT's job meta update."""

from __future__ import annotations


def test_patch_job_meta_deletes_frames_of_that_job_only(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    task = task_with_data(frames=4, segment_size=2)
    jobs = admin.get("/api/jobs", params={"task_id": task["id"], "sort": "id"}).json()["results"]
    first, second = sorted(jobs, key=lambda j: j["start_frame"])
    response = admin.patch(f"/api/tasks/{task['id']}/data/meta", json={"deleted_frames": [0]})
    assert response.status_code == 200, response.text
    response = admin.patch(f"/api/jobs/{second['id']}/data/meta", json={"deleted_frames": [3]})
    assert response.status_code == 200, response.text
    assert response.json()["deleted_frames"] == [0, 3]
    meta = admin.get(f"/api/tasks/{task['id']}/data/meta").json()
    assert meta["deleted_frames"] == [0, 3]  # frame 0 of the other job stays deleted
    response = admin.patch(f"/api/jobs/{second['id']}/data/meta", json={"deleted_frames": []})
    assert admin.get(f"/api/tasks/{task['id']}/data/meta").json()["deleted_frames"] == [0]
    refused = admin.patch(f"/api/jobs/{first['id']}/data/meta", json={"deleted_frames": [3]})
    assert refused.status_code == 400 and "frame numbers of this job" in refused.text
