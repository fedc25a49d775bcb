"""Ground-truth jobs and quality reports, checked against figures computed here by hand rules.

The shapes are axis-aligned boxes (and square polygons), so the expected IoUs are exact box
overlaps, and each frame's best pairing is unambiguous: the test pairs greedily by IoU, an
independent rule from the server's Hungarian method that must agree on this data.
"""

from __future__ import annotations

import time
from collections import defaultdict

import pytest

LABELS = [{"name": "car", "type": "any"}, {"name": "person", "type": "any"}]

# (frame, label, type, points): ground truth on frames 0 and 2.
GT = [
    (0, "car", "rectangle", [0, 0, 10, 10]),
    (0, "car", "rectangle", [20, 0, 30, 10]),
    (0, "person", "rectangle", [50, 50, 60, 60]),
    (2, "car", "rectangle", [0, 0, 10, 10]),
    (2, "person", "rectangle", [100, 100, 120, 120]),
    (2, "person", "polygon", [300, 300, 340, 300, 340, 340, 300, 340]),
]
# The annotators' work: job 1 has frames 0-1, job 2 frames 2-3.
DS = [
    (0, "car", "rectangle", [0, 0, 10, 5]),  # IoU 0.5 with the first car: valid, low overlap
    (0, "car", "rectangle", [21, 0, 30, 10]),  # IoU 0.9: valid
    (0, "car", "rectangle", [50, 50, 60, 60]),  # on the person: mismatching label
    (1, "car", "rectangle", [0, 0, 5, 5]),  # frame 1 has no ground truth: not compared
    (2, "car", "rectangle", [0, 0, 10, 10]),  # IoU 1
    (2, "car", "rectangle", [200, 200, 210, 210]),  # extra
    (2, "person", "rectangle", [100, 100, 103, 120]),  # IoU 0.15: below 0.4, above 0.1
    (2, "person", "polygon", [300, 300, 340, 300, 340, 320, 300, 320]),  # IoU 0.5
]


def _box(points: list[float]) -> tuple[float, float, float, float]:
    return min(points[0::2]), min(points[1::2]), max(points[0::2]), max(points[1::2])


def _iou(a: list[float], b: list[float]) -> float:
    ax1, ay1, ax2, ay2 = _box(a)
    bx1, by1, bx2, by2 = _box(b)
    inter = max(0, min(ax2, bx2) - max(ax1, bx1)) * max(0, min(ay2, by2) - max(ay1, by1))
    return inter / ((ax2 - ax1) * (ay2 - ay1) + (bx2 - bx1) * (by2 - by1) - inter)


def expected(threshold: float, low: float, frames: set[int]) -> dict:
    """Per label counts, IoUs of valid pairs and (frame, conflict type) by a greedy rule."""
    labels: dict = defaultdict(lambda: {"gt": 0, "ds": 0, "ious": []})
    conflicts = []
    for frame in sorted(frames):
        gt = [g for g in GT if g[0] == frame]
        ds = [d for d in DS if d[0] == frame]
        for g in gt:
            labels[g[1]]["gt"] += 1
        for d in ds:
            labels[d[1]]["ds"] += 1
        candidates = sorted(
            ((_iou(g[3], d[3]), i, j) for i, g in enumerate(gt) for j, d in enumerate(ds)),
            reverse=True,
        )
        used_g, used_d = set(), set()
        for overlap, i, j in candidates:
            if overlap < threshold or i in used_g or j in used_d:
                continue
            used_g.add(i)
            used_d.add(j)
            if gt[i][1] != ds[j][1]:
                conflicts.append((frame, "mismatching_label"))
                continue
            labels[gt[i][1]]["ious"].append(overlap)
            if overlap < low:
                conflicts.append((frame, "low_overlap"))
        conflicts += [(frame, "missing_annotation") for i in range(len(gt)) if i not in used_g]
        conflicts += [(frame, "extra_annotation") for j in range(len(ds)) if j not in used_d]
    return {"labels": dict(labels), "conflicts": sorted(conflicts)}


@pytest.fixture
def quality_task(team):  # type: ignore[no-untyped-def]
    task, jobs = team.make_task(frames=4, segment_size=2, labels=LABELS)
    owner = team.owner
    ids = {
        lb["name"]: lb["id"]
        for lb in owner.get("/api/labels", params={"task_id": task["id"]}).json()["results"]
    }

    def shapes(rows: list, frames: range | list) -> list[dict]:
        return [
            {"frame": f, "label_id": ids[name], "type": kind, "points": points}
            for f, name, kind, points in rows
            if f in frames
        ]

    for job in jobs:
        frames = range(job["start_frame"], job["stop_frame"] + 1)
        r = owner.put(f"/api/jobs/{job['id']}/annotations", json={"shapes": shapes(DS, frames)})
        assert r.status_code == 200, r.text
    return task, jobs, shapes


def _ground_truth(owner, task_id: int, **selection) -> dict:  # type: ignore[no-untyped-def]
    r = owner.post("/api/jobs", json={"type": "ground_truth", "task_id": task_id, **selection})
    assert r.status_code == 201, r.text
    return r.json()


def test_ground_truth_job_rules(team, quality_task) -> None:  # type: ignore[no-untyped-def]
    owner = team.owner
    task, jobs, shapes = quality_task
    tid = task["id"]
    # Random frames are reproducible with a seed, distinct and in the task.
    first = _ground_truth(
        owner, tid, frame_selection_method="random_uniform", frame_count=3, random_seed=7
    )
    assert first["type"] == "ground_truth" and first["frame_count"] == 3
    frames = owner.get(f"/api/jobs/{first['id']}/data/meta").json()["included_frames"]
    assert len(set(frames)) == 3 and set(frames) <= {0, 1, 2, 3}
    r = owner.post(
        "/api/jobs",
        json={
            "type": "ground_truth",
            "task_id": tid,
            "frame_selection_method": "manual",
            "frames": [0],
        },
    )
    assert r.status_code == 409, r.text  # one ground-truth job per task
    assert owner.delete(f"/api/jobs/{first['id']}").status_code == 204
    again = _ground_truth(
        owner, tid, frame_selection_method="random_uniform", frame_count=3, random_seed=7
    )
    assert owner.get(f"/api/jobs/{again['id']}/data/meta").json()["included_frames"] == frames
    assert owner.delete(f"/api/jobs/{again['id']}").status_code == 204
    for bad, what in (
        ({"frame_selection_method": "manual", "frames": [0, 9]}, "frames"),
        ({"frame_selection_method": "manual", "frames": [1, 1]}, "repeat"),
        ({"frame_selection_method": "random_uniform", "frame_count": 9}, "frame_count"),
        ({"frame_selection_method": "sometimes"}, "frame_selection_method"),
        ({"type": "annotation", "frame_selection_method": "manual", "frames": [0]}, "type"),
    ):
        r = owner.post("/api/jobs", json={"type": "ground_truth", "task_id": tid, **bad})
        assert r.status_code == 400 and what in r.text, (bad, r.text)
    # Annotation jobs are not deleted one by one, and a worker makes no ground truth.
    assert owner.delete(f"/api/jobs/{jobs[0]['id']}").status_code == 400
    r = team.annotator.post(
        "/api/jobs",
        json={
            "type": "ground_truth",
            "task_id": tid,
            "frame_selection_method": "manual",
            "frames": [0],
        },
    )
    assert r.status_code == 403, r.text
    # Ground truth is not part of the task's annotations.
    gt = _ground_truth(owner, tid, frame_selection_method="manual", frames=[0, 2])
    r = owner.put(f"/api/jobs/{gt['id']}/annotations", json={"shapes": shapes(GT, [0, 2])})
    assert r.status_code == 200, r.text
    assert len(owner.get(f"/api/tasks/{tid}/annotations").json()["shapes"]) == len(DS)
    listed = owner.get("/api/jobs", params={"task_id": tid, "type": "ground_truth"}).json()
    assert [j["id"] for j in listed["results"]] == [gt["id"]]
    # The task is done when its annotation jobs are; the ground truth does not hold it back.
    for job in jobs:
        body = {"stage": "acceptance", "state": "completed"}
        assert owner.patch(f"/api/jobs/{job['id']}", json=body).is_success
    assert owner.get(f"/api/tasks/{tid}").json()["status"] == "completed"


def _report(owner, task_id: int) -> dict:  # type: ignore[no-untyped-def]
    r = owner.post("/api/quality/reports", json={"task_id": task_id})
    assert r.status_code == 202, r.text
    rq_id = r.json()["rq_id"]
    for _ in range(100):
        status = owner.get(f"/api/requests/{rq_id}").json()
        if status["status"] in ("finished", "failed"):
            break
        time.sleep(0.1)
    assert status["status"] == "finished", status
    assert status["progress"] == 1.0 and status["operation"]["type"] == "calculate:quality"
    report = owner.get(f"/api/quality/reports/{status['result_id']}").json()
    assert report["target"] == "task" and report["task_id"] == task_id
    return report


def _check(owner, report: dict, threshold: float, low: float) -> None:  # type: ignore[no-untyped-def]
    want = expected(threshold, low, {0, 2})
    data = owner.get(f"/api/quality/reports/{report['id']}/data").json()
    got = {row["name"]: row for row in data["labels"]}
    assert set(got) == set(want["labels"])
    for name, w in want["labels"].items():
        g, valid = got[name], len(w["ious"])
        assert (g["gt_count"], g["ds_count"], g["valid_count"]) == (w["gt"], w["ds"], valid), name
        assert g["precision"] == pytest.approx(valid / w["ds"]), name
        assert g["recall"] == pytest.approx(valid / w["gt"]), name
        # Polygons are compared on a raster: within 2 % of the exact overlap.
        mean = sum(w["ious"]) / valid if valid else 0.0
        assert g["mean_iou"] == pytest.approx(mean, abs=0.02), name
    summary = report["summary"]
    valid = sum(len(w["ious"]) for w in want["labels"].values())
    gt = sum(w["gt"] for w in want["labels"].values())
    ds = sum(w["ds"] for w in want["labels"].values())
    assert (summary["valid_count"], summary["gt_count"], summary["ds_count"]) == (valid, gt, ds)
    assert summary["accuracy"] == pytest.approx(valid / (gt + ds - valid))
    assert summary["precision"] == pytest.approx(valid / ds)
    assert summary["recall"] == pytest.approx(valid / gt)
    assert summary["validation_frames"] == 2 and summary["total_frames"] == 4
    assert summary["conflict_count"] == len(want["conflicts"])
    conflicts = owner.get(
        "/api/quality/conflicts", params={"report_id": report["id"], "page_size": 100}
    ).json()
    assert sorted((c["frame"], c["type"]) for c in conflicts["results"]) == want["conflicts"]
    severities = {c["type"]: c["severity"] for c in conflicts["results"]}
    assert severities.get("low_overlap", "warning") == "warning"
    assert severities.get("missing_annotation", "error") == "error"
    for c in conflicts["results"]:
        assert all(ref["type"] == "shape" and ref["obj_id"] for ref in c["annotation_ids"])
    # Frame-level results list each compared frame.
    assert sorted(data["frame_results"]) == ["0", "2"]


def test_quality_report_matches_hand_computed_figures(team, quality_task) -> None:  # type: ignore[no-untyped-def]
    owner = team.owner
    task, jobs, shapes = quality_task
    tid = task["id"]
    r = owner.post("/api/quality/reports", json={"task_id": tid})
    assert r.status_code == 400 and "ground-truth" in r.text
    gt = _ground_truth(owner, tid, frame_selection_method="manual", frames=[0, 2])
    assert (
        owner.put(
            f"/api/jobs/{gt['id']}/annotations", json={"shapes": shapes(GT, [0, 2])}
        ).status_code
        == 200
    )

    report = _report(owner, tid)
    _check(owner, report, 0.4, 0.8)
    children = owner.get("/api/quality/reports", params={"parent_id": report["id"]}).json()
    assert sorted(c["job_id"] for c in children["results"]) == [j["id"] for j in jobs]
    job1 = next(c for c in children["results"] if c["job_id"] == jobs[0]["id"])
    by_job = owner.get("/api/quality/conflicts", params={"job_id": jobs[0]["id"]}).json()
    assert {c["frame"] for c in by_job["results"]} == {0}
    assert job1["summary"]["conflict_count"] == by_job["count"]

    # A looser IoU threshold pairs the thin person box too.
    settings = owner.get("/api/quality/settings", params={"task_id": tid}).json()["results"][0]
    assert settings["iou_threshold"] == 0.4 and settings["low_overlap_threshold"] == 0.8
    r = owner.patch(f"/api/quality/settings/{settings['id']}", json={"iou_threshold": 0.1})
    assert r.status_code == 200 and r.json()["iou_threshold"] == 0.1
    # A job's assignee does not see the task's quality settings (CVAT's rule): 404.
    assert (
        team.annotator.patch(
            f"/api/quality/settings/{settings['id']}", json={"iou_threshold": 0.9}
        ).status_code
        == 404
    )
    _check(owner, _report(owner, tid), 0.1, 0.8)
    listed = owner.get("/api/quality/reports", params={"task_id": tid, "target": "task"}).json()
    assert listed["count"] == 2

    # Who may see and start reports: the task's staff; not an outsider.
    assert team.annotator.post("/api/quality/reports", json={"task_id": tid}).status_code == 403
    assert team.outsider.get("/api/quality/reports", params={"task_id": tid}).json()["count"] == 0
    assert team.outsider.get(f"/api/quality/reports/{report['id']}").status_code == 404
