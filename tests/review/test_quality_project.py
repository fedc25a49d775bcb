"""A project's quality report (CVAT's target "project") over its tasks, checked by hand counts."""

from __future__ import annotations

import time

import pytest

from tests.conftest import upload_images

LABELS = [{"name": "car", "type": "any"}, {"name": "person", "type": "any"}]
# Per task: ground truth and annotation on frame 0, as (label, box).
TASKS = {
    "t1": (
        [("car", [0, 0, 10, 10]), ("person", [20, 20, 30, 30])],
        [("car", [0, 0, 10, 10]), ("car", [20, 20, 30, 30])],  # 1 valid, 1 mismatching label
    ),
    "t2": (
        [("car", [0, 0, 10, 10]), ("car", [40, 0, 50, 10])],
        [("car", [0, 0, 10, 8]), ("person", [0, 30, 5, 35])],  # IoU 0.8 valid, 1 missing, 1 extra
    ),
}


def _wait(owner, rq_id: str) -> dict:  # type: ignore[no-untyped-def]
    for _ in range(200):
        status = owner.get(f"/api/requests/{rq_id}").json()
        if status["status"] in ("finished", "failed"):
            return status
        time.sleep(0.1)
    raise AssertionError("the report did not finish")


def test_project_report_sums_its_tasks(team) -> None:  # type: ignore[no-untyped-def]
    owner = team.owner
    project = owner.post("/api/projects", json={"name": "qc", "labels": LABELS}).json()
    ids = {
        lb["name"]: lb["id"]
        for lb in owner.get("/api/labels", params={"project_id": project["id"]}).json()["results"]
    }
    r = owner.post("/api/quality/reports", json={"project_id": project["id"]})
    assert r.status_code == 400 and "ground-truth" in r.text

    def boxes(rows):  # type: ignore[no-untyped-def]
        return [{"frame": 0, "label_id": ids[n], "type": "rectangle", "points": p} for n, p in rows]

    task_ids = {}
    for name, (gt, ds) in TASKS.items():
        task = owner.post(
            "/api/tasks", json={"name": name, "project_id": project["id"], "segment_size": 2}
        ).json()
        upload_images(owner, task["id"], 2)
        task_ids[name] = task["id"]
        job = owner.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]
        assert owner.put(
            f"/api/jobs/{job['id']}/annotations", json={"shapes": boxes(ds)}
        ).is_success
        made = owner.post(
            "/api/jobs",
            json={
                "type": "ground_truth",
                "task_id": task["id"],
                "frame_selection_method": "manual",
                "frames": [0],
            },
        ).json()
        assert owner.put(
            f"/api/jobs/{made['id']}/annotations", json={"shapes": boxes(gt)}
        ).is_success
    # A task without ground truth is counted as not configured, not compared.
    spare = owner.post("/api/tasks", json={"name": "spare", "project_id": project["id"]}).json()
    upload_images(owner, spare["id"], 1)

    assert owner.post("/api/quality/reports", json={}).status_code == 400
    r = owner.post("/api/quality/reports", json={"project_id": project["id"]})
    assert r.status_code == 202, r.text
    status = _wait(owner, r.json()["rq_id"])
    assert status["status"] == "finished", status
    report = owner.get(f"/api/quality/reports/{status['result_id']}").json()
    assert report["target"] == "project" and report["project_id"] == project["id"]
    assert report["task_id"] is None

    # By hand: t1 has 1 valid of 2 gt / 2 ds; t2 1 valid (IoU 0.8) of 2 gt / 2 ds.
    valid, gt, ds = 2, 4, 4
    s = report["summary"]
    assert (s["valid_count"], s["gt_count"], s["ds_count"]) == (valid, gt, ds)
    assert s["accuracy"] == pytest.approx(valid / (gt + ds - valid))
    assert s["precision"] == pytest.approx(valid / ds) and s["recall"] == pytest.approx(valid / gt)
    assert s["tasks"] == {
        "total": 3,
        "custom": 0,
        "not_configured": 1,
        "excluded": 0,
        "included": 2,
    }
    # IoU 0.8 is not under the low-overlap threshold 0.8: no warning.
    assert s["conflicts_by_type"] == {
        "mismatching_label": 1,
        "missing_annotation": 1,
        "extra_annotation": 1,
    }
    data = owner.get(f"/api/quality/reports/{report['id']}/data").json()
    car = next(row for row in data["labels"] if row["name"] == "car")
    assert (car["gt_count"], car["ds_count"], car["valid_count"]) == (3, 3, 2)
    assert car["mean_iou"] == pytest.approx((1.0 + 0.8) / 2)

    # Its children are fresh task reports, one per task with ground truth.
    children = owner.get("/api/quality/reports", params={"parent_id": report["id"]}).json()
    assert sorted(c["task_id"] for c in children["results"]) == sorted(task_ids.values())
    assert {c["target"] for c in children["results"]} == {"task"}
    per_task = {c["task_id"]: c["summary"] for c in children["results"]}
    assert per_task[task_ids["t1"]]["valid_count"] == 1
    assert per_task[task_ids["t2"]]["accuracy"] == pytest.approx(1 / 3)
    listed = owner.get(
        "/api/quality/reports", params={"project_id": project["id"], "target": "project"}
    ).json()
    assert [x["id"] for x in listed["results"]] == [report["id"]]
    conflicts = owner.get("/api/quality/conflicts", params={"report_id": report["id"]}).json()
    assert conflicts["count"] == 3

    # Only the project's staff may start one; an outsider sees none.
    assert team.annotator.post(
        "/api/quality/reports", json={"project_id": project["id"]}
    ).status_code in (403, 404)
    assert team.outsider.get(f"/api/quality/reports/{report['id']}").status_code == 404
