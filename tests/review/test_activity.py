"""Activity: one row per save, annotators and time per job, CVAT's event CSV export."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from labelvault.review.activity import IDLE, LEAD, working_seconds
from labelvault.review.models import ActivityEvent

T0 = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def test_working_time_rule() -> None:
    at = lambda *minutes: [T0 + timedelta(minutes=m) for m in minutes]  # noqa: E731
    assert working_seconds([]) == 0
    assert working_seconds(at(0)) == LEAD.total_seconds()
    # 0 → 2 → 4 minutes: one stretch; then a break longer than IDLE; then 2 more minutes.
    gap = IDLE.total_seconds() / 60 + 1
    stretch = at(0, 2, 4, 4 + gap, 6 + gap)
    assert working_seconds(stretch) == 2 * LEAD.total_seconds() + 4 * 60 + 2 * 60
    assert working_seconds(reversed(stretch)) == working_seconds(stretch)  # order of rows


def _box(label: int, x: float, **extra) -> dict:  # type: ignore[no-untyped-def]
    return {"frame": 0, "label_id": label, "type": "rectangle", "points": [x, 0, x + 5, 5], **extra}


def test_saves_are_recorded_and_summarised(team, database) -> None:  # type: ignore[no-untyped-def]
    task, jobs = team.make_task()
    owner, anna = team.owner, team.annotator
    label = owner.get("/api/labels", params={"task_id": task["id"]}).json()["results"][0]["id"]
    url = f"/api/jobs/{jobs[0]['id']}/annotations"
    created = anna.patch(
        url,
        params={"action": "create"},
        json={"shapes": [_box(label, 0), _box(label, 10), _box(label, 20)]},
    )
    assert created.status_code == 200, created.text
    shapes = created.json()["shapes"]
    moved = [{**shapes[0], "points": [1, 1, 6, 6]}]
    assert anna.patch(url, params={"action": "update"}, json={"shapes": moved}).is_success
    assert anna.patch(
        url, params={"action": "delete"}, json={"shapes": [{"id": shapes[1]["id"]}]}
    ).is_success
    # The owner works on the second job with a PUT.
    other = f"/api/jobs/{jobs[1]['id']}/annotations"
    box = {**_box(label, 0), "frame": jobs[1]["start_frame"]}
    assert owner.put(other, json={"shapes": [box]}).is_success
    # A refused save leaves no row (it is in the save's transaction).
    assert (
        anna.patch(url, params={"action": "create"}, json={"shapes": [_box(9999, 0)]}).status_code
        == 400
    )

    # Pin the times so the estimate is exact: anna 0, 1, 3 minutes; owner one save.
    with database.engine.begin() as conn:
        rows = conn.execute(
            select(ActivityEvent.id, ActivityEvent.user_id)
            .where(ActivityEvent.task_id == task["id"])
            .order_by(ActivityEvent.id)
        ).all()
        assert [r.user_id for r in rows] == [anna.user_id] * 3 + [owner.user_id]
        for (row_id, _), minutes in zip(rows, (0, 1, 3, 10), strict=True):
            conn.execute(
                update(ActivityEvent)
                .where(ActivityEvent.id == row_id)
                .values(created_date=T0 + timedelta(minutes=minutes))
            )

    summary = owner.get(f"/api/tasks/{task['id']}/activity").json()
    assert summary["saves"] == 4
    people = {a["username"]: a for a in summary["annotators"]}
    a = people["anna"]
    assert (a["saves"], a["objects_created"], a["objects_changed"], a["objects_deleted"]) == (
        3,
        3,
        1,
        1,
    )
    assert a["working_seconds"] == LEAD.total_seconds() + 3 * 60
    assert a["objects_per_hour"] == 5 * 3600 / a["working_seconds"]
    assert people["owner"]["objects_created"] == 1
    assert people["owner"]["working_seconds"] == LEAD.total_seconds()
    per_job = {j["job_id"]: j for j in summary["jobs"]}
    assert per_job[jobs[0]["id"]]["working_seconds"] == LEAD.total_seconds() + 3 * 60
    assert per_job[jobs[0]["id"]]["annotators"] == ["anna"]
    assert per_job[jobs[1]["id"]]["saves"] == 1

    # The annotator sees only their own saves; an outsider nothing.
    mine = anna.get(f"/api/tasks/{task['id']}/activity").json()
    assert [x["username"] for x in mine["annotators"]] == ["anna"]
    assert team.outsider.get(f"/api/tasks/{task['id']}/activity").status_code == 404

    # CVAT's event export: a CSV with its columns, one line per save, filters applied.
    r = owner.get("/api/events", params={"task_id": task["id"], "filename": "week"})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert 'filename="week.csv"' in r.headers["content-disposition"]
    lines = list(csv.DictReader(io.StringIO(r.text)))
    assert [x["scope"] for x in lines] == [
        "create:annotations",
        "update:annotations",
        "delete:annotations",
        "replace:annotations",
    ]
    assert [int(x["count"]) for x in lines] == [3, 1, 1, 1]
    assert {x["user_name"] for x in lines} == {"anna", "owner"}
    assert all(x["task_id"] == str(task["id"]) for x in lines)
    since = (T0 + timedelta(minutes=2)).isoformat()
    later = owner.get("/api/events", params={"task_id": task["id"], "from": since})
    assert len(list(csv.DictReader(io.StringIO(later.text)))) == 2


def test_activity_off_records_nothing(team) -> None:  # type: ignore[no-untyped-def]
    task, jobs = team.make_task()
    settings = team.owner.app.state.settings
    label = team.owner.get("/api/labels", params={"task_id": task["id"]}).json()["results"][0]
    settings.activity = False
    try:
        r = team.owner.put(
            f"/api/jobs/{jobs[0]['id']}/annotations", json={"shapes": [_box(label["id"], 0)]}
        )
        assert r.status_code == 200, r.text
    finally:
        settings.activity = True
    assert team.owner.get(f"/api/tasks/{task['id']}/activity").json()["saves"] == 0
