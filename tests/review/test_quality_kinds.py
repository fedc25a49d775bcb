"""Quality control for every kind CVAT compares, checked against figures computed here.

Each expected similarity is worked out in the test from its definition (COCO's OKS formula
with CVAT's sigma, IoU of pixel sets built here, the octagon a square makes with its 45°
turn), not by calling the server's code; the conflicts expected are those CVAT lists.
"""

from __future__ import annotations

import math
import time

import numpy as np
import pytest

SIGMA, THICKNESS = 0.09, 0.01
LABELS = [
    {
        "name": "car",
        "type": "any",
        "attributes": [
            {
                "name": "color",
                "mutable": False,
                "input_type": "select",
                "values": ["red", "blue"],
                "default_value": "red",
            }
        ],
    },
    {"name": "person", "type": "any"},
    {"name": "pt", "type": "any"},
    {"name": "road", "type": "any"},
    {"name": "blob", "type": "any"},
    {"name": "sunny", "type": "any"},
    {"name": "rainy", "type": "any"},
    {
        "name": "body",
        "type": "skeleton",
        "sublabels": [{"name": "head", "type": "points"}, {"name": "foot", "type": "points"}],
        "svg": '<circle r="1" cx="10" cy="10" data-label-name="head"></circle>'
        '<circle r="1" cx="20" cy="40" data-label-name="foot"></circle>',
    },
]
SQUARE_ROTATED = math.sqrt(2) / 2  # a square against itself turned 45°: octagon / (2 - octagon)


def _oks(a: list[tuple[float, float]], b: list[tuple[float, float]], scale: float) -> float:
    return sum(
        math.exp(-((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) / (2 * scale * (2 * SIGMA) ** 2))
        for p, q in zip(a, b, strict=True)
    ) / len(a)


def _mean_box_area(a: list[tuple[float, float]], b: list[tuple[float, float]]) -> float:
    def box(ps):  # type: ignore[no-untyped-def]
        return [
            min(p[0] for p in ps),
            min(p[1] for p in ps),
            max(p[0] for p in ps),
            max(p[1] for p in ps),
        ]

    m = [(x + y) / 2 for x, y in zip(box(a), box(b), strict=True)]
    return (m[2] - m[0]) * (m[3] - m[1])


def _pixels(x1: int, y1: int, x2: int, y2: int) -> set[tuple[int, int]]:
    return {(x, y) for x in range(x1, x2 + 1) for y in range(y1, y2 + 1)}


def _report(owner, task_id: int) -> dict:  # type: ignore[no-untyped-def]
    r = owner.post("/api/quality/reports", json={"task_id": task_id})
    assert r.status_code == 202, r.text
    for _ in range(200):
        status = owner.get(f"/api/requests/{r.json()['rq_id']}").json()
        if status["status"] in ("finished", "failed"):
            break
        time.sleep(0.1)
    assert status["status"] == "finished", status
    return owner.get(f"/api/quality/reports/{status['result_id']}").json()


def test_every_kind_compared_as_cvat_does(team) -> None:  # type: ignore[no-untyped-def]
    owner = team.owner
    task, jobs = team.make_task(frames=2, segment_size=2, labels=LABELS)
    assert len(jobs) == 1
    labels = owner.get("/api/labels", params={"task_id": task["id"], "page_size": 100}).json()
    ids = {lb["name"]: lb["id"] for lb in labels["results"]}
    body = next(lb for lb in labels["results"] if lb["name"] == "body")
    parts = {s["name"]: s["id"] for s in body["sublabels"]}
    color = next(lb for lb in labels["results"] if lb["name"] == "car")["attributes"][0]["id"]
    meta = owner.get(f"/api/tasks/{task['id']}/data/meta").json()
    area1 = meta["frames"][1]["width"] * meta["frames"][1]["height"]

    def shape(frame, label, kind, points, **extra):  # type: ignore[no-untyped-def]
        return {"frame": frame, "label_id": ids[label], "type": kind, "points": points, **extra}

    def car(points, colour="red", **extra):  # type: ignore[no-untyped-def]
        attrs = [{"spec_id": color, "value": colour}]
        return shape(0, "car", "rectangle", points, attributes=attrs, **extra)

    def skeleton(head, foot):  # type: ignore[no-untyped-def]
        elements = [
            {"frame": 1, "label_id": parts[n], "type": "points", "points": list(p)}
            for n, p in (("head", head), ("foot", foot))
        ]
        return shape(1, "body", "skeleton", [], elements=elements)

    cover = [23, 0, 35, 0, 35, 12, 23, 12]
    gt_pts, ds_pts = [(10, 10), (20, 20)], [(10.5, 10), (20, 21)]
    gt_body, ds_body = [(40, 5), (50, 25)], [(41, 5), (50, 26)]
    gt = {
        "shapes": [
            # Three cars grouped in the ground truth, alone in the annotation.
            car([0, 0, 10, 10], group=1),
            car([12, 0, 22, 10], group=1),
            car([24, 1, 34, 11], group=1),
            car([40, 20, 60, 40], rotation=45),
            shape(0, "person", "polygon", cover),
            shape(1, "pt", "points", [c for p in gt_pts for c in p]),
            shape(1, "road", "polyline", [0, 30, 30, 30, 60, 30]),
            shape(1, "blob", "mask", [0, 100, 10, 35, 19, 44]),
            skeleton(*gt_body),
        ],
        "tags": [{"frame": 1, "label_id": ids["sunny"]}],
    }
    ds = {
        "shapes": [
            car([0, 0, 10, 10], "blue"),  # another colour: mismatching attributes
            car([12, 0, 22, 10]),
            car([24, 1, 34, 11]),  # under the polygon drawn over it: covered
            car([40, 20, 60, 40]),  # not turned: IoU √2/2, low overlap
            shape(0, "person", "polygon", cover, z_order=1),
            shape(1, "pt", "points", [c for p in ds_pts for c in p]),
            shape(1, "road", "polyline", [60, 30.5, 30, 30.5, 0, 30.5]),  # drawn backwards
            shape(1, "blob", "mask", [0, 100, 13, 35, 22, 44]),
            skeleton(*ds_body),
        ],
        "tags": [{"frame": 1, "label_id": ids["sunny"]}, {"frame": 1, "label_id": ids["rainy"]}],
    }
    r = owner.put(f"/api/jobs/{jobs[0]['id']}/annotations", json=ds)
    assert r.status_code == 200, r.text
    made = owner.post(
        "/api/jobs",
        json={
            "type": "ground_truth",
            "task_id": task["id"],
            "frame_selection_method": "manual",
            "frames": [0, 1],
        },
    )
    assert made.status_code == 201, made.text
    r = owner.put(f"/api/jobs/{made.json()['id']}/annotations", json=gt)
    assert r.status_code == 200, r.text

    report = _report(owner, task["id"])
    data = owner.get(f"/api/quality/reports/{report['id']}/data").json()
    got = {row["name"]: row for row in data["labels"]}

    # Figures from their definitions.
    mask_gt, mask_ds = _pixels(10, 35, 19, 44), _pixels(13, 35, 22, 44)
    want = {
        "car": (4, 4, 4, (3 + SQUARE_ROTATED) / 4),
        "person": (1, 1, 1, 1.0),
        "pt": (1, 1, 1, _oks(gt_pts, ds_pts, _mean_box_area(gt_pts, ds_pts))),
        # Every point of the reversed line lies 0.5 px from the ground truth's.
        "road": (1, 1, 1, math.exp(-(0.5**2) / (2 * area1 * THICKNESS**2))),
        "blob": (1, 1, 1, len(mask_gt & mask_ds) / len(mask_gt | mask_ds)),
        "body": (1, 1, 1, _oks(gt_body, ds_body, _mean_box_area(gt_body, ds_body))),
        "sunny": (1, 1, 1, 1.0),
        "rainy": (0, 1, 0, 0.0),
    }
    assert set(got) == set(want)
    for name, (n_gt, n_ds, n_valid, similarity) in want.items():
        row = got[name]
        assert (row["gt_count"], row["ds_count"], row["valid_count"]) == (n_gt, n_ds, n_valid)
        assert row["mean_iou"] == pytest.approx(similarity, abs=0.01), name
    assert want["blob"][3] == pytest.approx(70 / 130)

    conflicts = owner.get(
        "/api/quality/conflicts", params={"report_id": report["id"], "page_size": 100}
    ).json()["results"]
    if not conflicts:  # the task report lists its jobs' conflicts
        child = owner.get("/api/quality/reports", params={"parent_id": report["id"]}).json()
        conflicts = owner.get(
            "/api/quality/conflicts",
            params={"report_id": child["results"][0]["id"], "page_size": 100},
        ).json()["results"]
    found = sorted((c["frame"], c["type"]) for c in conflicts)
    # 1/3 of each ground-truth group is found in each annotated one: under CVAT's 0.5.
    assert found == sorted(
        [
            (0, "mismatching_attributes"),
            (0, "mismatching_groups"),
            (0, "mismatching_groups"),
            (0, "mismatching_groups"),
            (0, "low_overlap"),
            (0, "covered_annotation"),
            (1, "low_overlap"),  # the line, at exp(-0.25 / 0.624)
            (1, "mismatching_direction"),
            (1, "low_overlap"),  # the mask, at 70 / 130
            (1, "extra_annotation"),
        ]
    )
    severity = {c["type"]: c["severity"] for c in conflicts}
    assert severity["extra_annotation"] == "error"
    assert {severity[k] for k in severity if k != "extra_annotation"} == {"warning"}
    covered = next(c for c in conflicts if c["type"] == "covered_annotation")
    assert covered["annotation_ids"][0]["shape_type"] == "rectangle"
    summary = report["summary"]
    assert (summary["gt_count"], summary["ds_count"], summary["valid_count"]) == (10, 11, 10)
    assert summary["precision"] == pytest.approx(10 / 11) and summary["recall"] == 1.0
    params = data["parameters"]
    assert params["oks_sigma"] == SIGMA and params["line_thickness"] == THICKNESS
    assert np.isclose(params["object_visibility_threshold"], 0.05)


def test_tracks_are_compared_on_each_ground_truth_frame(team) -> None:  # type: ignore[no-untyped-def]
    """A track's interpolated box on a ground-truth frame counts as that frame's object."""
    owner = team.owner
    task, jobs = team.make_task(frames=5, segment_size=5, labels=LABELS)
    ids = {
        lb["name"]: lb["id"]
        for lb in owner.get("/api/labels", params={"task_id": task["id"], "page_size": 100}).json()[
            "results"
        ]
    }

    def key(frame: int, points: list[float], outside: bool = False) -> dict:  # type: ignore[type-arg]
        return {"frame": frame, "type": "rectangle", "points": points, "outside": outside}

    # Keyframes at 0 and 4 (outside from 4): frame 2 lies half way, frame 4 shows nothing.
    track = {
        "frame": 0,
        "label_id": ids["person"],
        "shapes": [key(0, [0, 0, 10, 10]), key(4, [20, 0, 30, 10], outside=True)],
    }
    r = owner.put(f"/api/jobs/{jobs[0]['id']}/annotations", json={"tracks": [track]})
    assert r.status_code == 200, r.text
    gt = owner.post(
        "/api/jobs",
        json={
            "type": "ground_truth",
            "task_id": task["id"],
            "frame_selection_method": "manual",
            "frames": [2, 4],
        },
    )
    assert gt.status_code == 201, gt.text
    # Frame 2: the interpolated box exactly; frame 4: an object the track no longer shows.
    gt_shapes = [
        {"frame": 2, "label_id": ids["person"], "type": "rectangle", "points": [10, 0, 20, 10]},
        {"frame": 4, "label_id": ids["person"], "type": "rectangle", "points": [20, 0, 30, 10]},
    ]
    r = owner.put(f"/api/jobs/{gt.json()['id']}/annotations", json={"shapes": gt_shapes})
    assert r.status_code == 200, r.text

    report = _report(owner, task["id"])
    data = owner.get(f"/api/quality/reports/{report['id']}/data").json()
    person = next(row for row in data["labels"] if row["name"] == "person")
    assert (person["gt_count"], person["ds_count"], person["valid_count"]) == (2, 1, 1)
    assert person["mean_iou"] == pytest.approx(1.0)
    child = owner.get("/api/quality/reports", params={"parent_id": report["id"]}).json()
    conflicts = owner.get(
        "/api/quality/conflicts", params={"report_id": child["results"][0]["id"]}
    ).json()["results"]
    assert [(c["frame"], c["type"]) for c in conflicts] == [(4, "missing_annotation")]
