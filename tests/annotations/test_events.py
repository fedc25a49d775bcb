"""Committed annotation changes reach listeners once, in commit order, and a failing listener
does not hold up the saves after it."""

from __future__ import annotations

from typing import Any

from labelvault.annotations import events
from labelvault.errors import Unavailable


def _job(admin, task_with_data) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    task = task_with_data()
    return admin.get("/api/jobs", params={"task_id": task["id"]}).json()["results"][0]


def _box(label_id: int, x: float) -> dict[str, Any]:
    return {
        "type": "rectangle",
        "frame": 0,
        "label_id": label_id,
        "points": [x, 1, x + 5, 6],
        "attributes": [],
    }


def test_listeners_hear_each_committed_save_in_order(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    job = _job(admin, task_with_data)
    label_id = admin.get("/api/labels", params={"job_id": job["id"]}).json()["results"][0]["id"]
    heard: list[tuple[tuple[int, ...], str]] = []
    stop = events.subscribe(
        lambda _engine, changes: heard.extend((c.job_ids, c.action) for c in changes)
    )
    try:
        url = f"/api/jobs/{job['id']}/annotations"
        assert admin.put(url, json={"shapes": [_box(label_id, 1)]}).status_code == 200
        refused = admin.put(url, json={"shapes": [{"type": "rectangle"}]})
        assert refused.status_code == 400  # nothing committed, nothing heard
        created = admin.patch(
            url, params={"action": "create"}, json={"shapes": [_box(label_id, 9)]}
        )
        assert created.status_code == 200
        assert admin.delete(url).status_code == 204
    finally:
        stop()
    ids = (job["id"],)
    assert heard == [(ids, "replace"), (ids, "create"), (ids, "replace")]


def test_a_failing_listener_does_not_block_later_saves(admin, task_with_data) -> None:  # type: ignore[no-untyped-def]
    job = _job(admin, task_with_data)
    label_id = admin.get("/api/labels", params={"job_id": job["id"]}).json()["results"][0]["id"]
    calls: list[int] = []

    def broken(_engine: Any, changes: list[Any]) -> None:
        calls.append(len(changes))
        raise Unavailable("the journal's disk is full")

    stop = events.subscribe(broken)
    url = f"/api/jobs/{job['id']}/annotations"
    try:
        # The save stands in the database; the client is told it is not protected.
        failed = admin.put(url, json={"shapes": [_box(label_id, 1)]})
        assert failed.status_code == 502 and "disk is full" in failed.json()["detail"]
        assert len(admin.get(url).json()["shapes"]) == 1
    finally:
        stop()
    # The commit-order lock was let go: the next save goes through at once.
    assert admin.put(url, json={"shapes": [_box(label_id, 2)]}).status_code == 200
    assert calls == [1]
