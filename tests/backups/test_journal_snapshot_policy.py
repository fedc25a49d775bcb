"""The change-snapshot policy, in isolation: first start, coalescing, size, what is a change."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from labelvault.backups.snapshot_policy import COALESCE, change_fingerprint, snapshot_due

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
MB = 10**6


def test_a_first_start_snapshots_at_once() -> None:
    assert snapshot_due(T0, None, None, first_start=True, size=None)
    assert not snapshot_due(T0, None, None, first_start=False, size=None)


def test_changes_within_the_window_give_one_snapshot_within_a_minute() -> None:
    last = T0
    change = T0 + timedelta(minutes=5)
    # Still collecting changes: not yet.
    assert not snapshot_due(change + COALESCE / 2, last, change, False, 10 * MB)
    # Due once the window has passed: well within a minute of the first change.
    assert snapshot_due(change + COALESCE, last, change, False, 10 * MB)
    assert timedelta(minutes=1) > COALESCE
    # Nothing new, or a change the last snapshot already holds: no snapshot.
    assert not snapshot_due(change + timedelta(hours=1), last, None, False, 10 * MB)
    assert not snapshot_due(change + timedelta(hours=1), change, change, False, 10 * MB)


def test_heavy_instances_snapshot_less_often() -> None:
    last = T0
    change = T0 + timedelta(minutes=1)
    now = change + timedelta(minutes=2)
    assert snapshot_due(now, last, change, False, 100 * MB)
    assert not snapshot_due(now, last, change, False, 1000 * MB)
    assert snapshot_due(T0 + timedelta(minutes=11), last, change, False, 1000 * MB)
    assert not snapshot_due(T0 + timedelta(minutes=30), last, change, False, 5000 * MB)
    assert snapshot_due(T0 + timedelta(hours=1), last, change, False, 5000 * MB)


def test_the_fingerprint_sees_projects_and_users_but_not_annotations(
    app, admin, task_with_data
) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.backups import annotate, jobs_of, labels_by_name, make_project

    project = make_project(admin, task_with_data, tasks=1, frames=2)

    def fingerprint() -> str:
        with app.state.db.session() as session:
            return change_fingerprint(session)

    before = fingerprint()
    job = jobs_of(admin, admin.get("/api/tasks").json()["results"][0]["id"])[0]
    annotate(admin, job["id"], labels_by_name(admin, project["id"]), x=9.0)
    assert fingerprint() == before
    assert (
        admin.patch(f"/api/projects/{project['id']}", json={"name": "renamed"}).status_code == 200
    )
    renamed = fingerprint()
    assert renamed != before
    response = admin.post(
        "/api/users", json={"username": "ann", "password": "ann-password-1", "role": "user"}
    )
    assert response.status_code == 201
    with_user = fingerprint()
    assert with_user != renamed
    # Organizations, and a member's new role, are part of the instance too.
    admin.post("/api/organizations", json={"slug": "lab"})
    with_org = fingerprint()
    assert with_org != with_user
    invited = admin.post(
        "/api/invitations",
        json={"role": "worker", "email": "ann@example.org"},
        headers={"X-Organization": "lab"},
    )
    assert invited.status_code == 201, invited.text
    invited_print = fingerprint()
    assert invited_print != with_org
    member = admin.get("/api/memberships", params={"org": "lab", "role": "worker"}).json()
    admin.patch(f"/api/memberships/{member['results'][0]['id']}", json={"role": "supervisor"})
    assert fingerprint() != invited_print
