"""Consensus replica jobs in task backups: CVAT's layout restores, and a round trip keeps them."""

from __future__ import annotations

import io
import json
import zipfile

from tests.conftest import png_bytes
from tests.datasets.conftest import tus_upload
from tests.datasets.test_backup import backup, restore

REPLICAS = 2
FRAMES = 4  # two annotation jobs of two frames each


def _box(frame: int, x: float) -> dict:
    return {
        "type": "rectangle",
        "occluded": False,
        "outside": False,
        "z_order": 0,
        "rotation": 0.0,
        "points": [x, 1.0, x + 5.0, 6.0],
        "frame": frame,
        "group": 0,
        "source": "manual",
        "attributes": [],
        "elements": [],
        "label": "car",
    }


def _cvat_layout(jobs: list[dict], annotations: list[dict]) -> bytes:
    """A task backup as CVAT writes one: jobs by segment, each annotation job followed by its
    replicas (same segment fields), and annotations.json in that same order."""
    task = {
        "name": "consensus task",
        "bug_tracker": "",
        "status": "annotation",
        "subset": "",
        "labels": [{"name": "car", "color": "#fa3253", "attributes": [], "type": "any"}],
        "version": "1.0",
        "data": {
            "chunk_size": 72,
            "image_quality": 70,
            "start_frame": 0,
            "stop_frame": FRAMES - 1,
            "storage_method": "cache",
            "storage": "local",
            "sorting_method": "lexicographical",
            "chunk_type": "imageset",
            "deleted_frames": [],
        },
        "jobs": jobs,
    }
    manifest = [{"version": "1.1"}, {"type": "images"}]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(FRAMES):
            zf.writestr(f"data/img_{i}.png", png_bytes(40 + i, 30))
            manifest.append(
                {"name": f"img_{i}", "extension": ".png", "width": 40 + i, "height": 30}
            )
        zf.writestr("data/manifest.jsonl", "\n".join(json.dumps(m) for m in manifest) + "\n")
        zf.writestr("task.json", json.dumps(task))
        zf.writestr("annotations.json", json.dumps(annotations))
    return buf.getvalue()


def _layout() -> tuple[list[dict], list[dict], dict[tuple[int, int], list[float]]]:
    """Jobs, their annotations, and what each (segment, replica number) holds (0: the job)."""
    jobs, annotations, wanted = [], [], {}
    for segment in range(FRAMES // 2):
        start = segment * 2
        for number in range(REPLICAS + 1):
            kind = "annotation" if number == 0 else "consensus_replica"
            jobs.append(
                {
                    "start_frame": start,
                    "stop_frame": start + 1,
                    "status": "annotation",
                    "type": kind,
                }
            )
            # every job its own boxes: each replica's objects must land in that replica
            xs = [10.0 * segment + number, 50.0 + number]
            boxes = [_box(start, xs[0]), _box(start + 1, xs[1])]
            annotations.append({"version": 0, "tags": [], "shapes": boxes, "tracks": []})
            wanted[(segment, number)] = xs
    return jobs, annotations, wanted


def _jobs(client, task_id: int, **query) -> list[dict]:  # type: ignore[no-untyped-def]
    params = {"task_id": task_id, "page_size": 100, **query}
    return sorted(client.get("/api/jobs", params=params).json()["results"], key=lambda j: j["id"])


def _xs(client, job_id: int) -> list[float]:  # type: ignore[no-untyped-def]
    shapes = client.get(f"/api/jobs/{job_id}/annotations").json()["shapes"]
    return [s["points"][0] for s in sorted(shapes, key=lambda s: s["frame"])]


def _check(client, task_id: int, wanted: dict) -> dict[int, list[dict]]:  # type: ignore[no-untyped-def]
    """Every replica is there with its parent's frames and its own objects; the task's
    counts and annotations leave the replicas out. Returns replicas by parent job id."""
    task = client.get(f"/api/tasks/{task_id}").json()
    assert task["consensus_replicas"] == REPLICAS and task["consensus_enabled"] is True
    assert task["jobs"]["count"] == FRAMES // 2
    parents = _jobs(client, task_id, type="annotation")
    replicas = _jobs(client, task_id, type="consensus_replica")
    assert len(parents) == FRAMES // 2 and len(replicas) == REPLICAS * len(parents)
    by_parent: dict[int, list[dict]] = {}
    for replica in replicas:
        by_parent.setdefault(replica["parent_job_id"], []).append(replica)
    for segment, parent in enumerate(parents):
        assert parent["type"] == "annotation" and parent["parent_job_id"] is None
        assert parent["replicas_count"] == REPLICAS
        assert _xs(client, parent["id"]) == wanted[(segment, 0)]
        mine = by_parent[parent["id"]]
        assert [r["parent_job_id"] for r in mine] == [parent["id"]] * REPLICAS
        for number, replica in enumerate(mine, 1):
            assert (replica["start_frame"], replica["stop_frame"]) == (
                parent["start_frame"],
                parent["stop_frame"],
            )
            assert _xs(client, replica["id"]) == wanted[(segment, number)]
    # the task's own annotations are its annotation jobs' only
    shapes = client.get(f"/api/tasks/{task_id}/annotations").json()["shapes"]
    assert sorted(s["points"][0] for s in shapes) == sorted(
        x for (_, number), xs in wanted.items() if number == 0 for x in xs
    )
    # filtering by parent finds a job's replicas
    first = parents[0]["id"]
    found = _jobs(client, task_id, parent_job_id=first)
    assert [j["id"] for j in found] == [r["id"] for r in by_parent[first]]
    return by_parent


def test_cvat_layout_with_replicas_restores_every_replica(admin) -> None:  # type: ignore[no-untyped-def]
    jobs, annotations, wanted = _layout()
    task_id = restore(admin, "task", _cvat_layout(jobs, annotations))
    _check(admin, task_id, wanted)


def test_round_trip_keeps_replicas_and_assignees(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    make_user("ann1")
    with admin.app.state.db.session() as session:
        from labelvault.accounts import service as account_service

        ann_id = account_service.get_by_username(session, "ann1").id
    jobs, annotations, wanted = _layout()
    first = restore(admin, "task", _cvat_layout(jobs, annotations))
    replica = _jobs(admin, first, type="consensus_replica")[1]
    patch = {"assignee": ann_id, "stage": "validation"}
    assert admin.patch(f"/api/jobs/{replica['id']}", json=patch).status_code == 200

    data = backup(admin, f"/api/tasks/{first}")
    meta = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("task.json"))
    # CVAT's order: each annotation job, then its replicas, over the same frames
    kinds = [j["type"] for j in meta["jobs"]]
    assert kinds == (["annotation"] + ["consensus_replica"] * REPLICAS) * (FRAMES // 2)
    ranges = [(j["start_frame"], j["stop_frame"]) for j in meta["jobs"]]
    assert ranges == [(s, s + 1) for s in range(0, FRAMES, 2) for _ in range(REPLICAS + 1)]
    assert meta["consensus_replicas"] == REPLICAS
    saved = json.loads(zipfile.ZipFile(io.BytesIO(data)).read("annotations.json"))
    assert len(saved) == len(meta["jobs"])

    second = restore(admin, "task", data)
    by_parent = _check(admin, second, wanted)
    restored = sorted((r for rs in by_parent.values() for r in rs), key=lambda r: r["id"])[1]
    assert (restored["assignee"] or {}).get("username") == "ann1"
    assert restored["stage"] == "validation"


def test_replica_without_parent_fails_and_creates_nothing(admin) -> None:  # type: ignore[no-untyped-def]
    jobs, annotations, _ = _layout()
    before = admin.get("/api/tasks").json()["count"]
    jobs = [jobs[1], jobs[0], *jobs[2:]]  # a replica listed before any annotation job
    data = _cvat_layout(jobs, annotations)
    status = tus_upload(admin, "/api/tasks/backup/", data, "b.zip", {})
    assert status["status"] == "failed", status
    assert "consensus replica" in status["message"], status
    assert admin.get("/api/tasks").json()["count"] == before


def test_replicas_do_not_hold_the_task_back(admin) -> None:  # type: ignore[no-untyped-def]
    jobs, annotations, _ = _layout()
    task_id = restore(admin, "task", _cvat_layout(jobs, annotations))
    for job in _jobs(admin, task_id, type="annotation"):
        body = {"stage": "acceptance", "state": "completed"}
        assert admin.patch(f"/api/jobs/{job['id']}", json=body).status_code == 200
    # the replicas are still in annotation: the task is done all the same
    assert {j["stage"] for j in _jobs(admin, task_id, type="consensus_replica")} == {"annotation"}
    assert admin.get(f"/api/tasks/{task_id}").json()["status"] == "completed"
    done = admin.get("/api/tasks", params={"status": "completed"}).json()["results"]
    assert [t["id"] for t in done] == [task_id]
    # CVAT's JSON-logic filter on parent_job_id finds the replicas too
    parent = _jobs(admin, task_id, type="annotation")[0]["id"]
    rule = json.dumps({"==": [{"var": "parent_job_id"}, parent]})
    found = _jobs(admin, task_id, filter=rule)
    assert len(found) == REPLICAS and {j["parent_job_id"] for j in found} == {parent}
