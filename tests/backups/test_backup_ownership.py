"""The attack of issue 19: a new project given a deleted project's id sees none of its backups."""

from __future__ import annotations

from pathlib import Path

from labelvault.backups import periodic
from tests.conftest import LABELS


def _wait(client, response) -> dict:  # type: ignore[no-untyped-def]
    assert response.status_code == 202, response.text
    return client.get(f"/api/requests/{response.json()['rq_id']}").json()


def _project(client, name: str) -> dict:  # type: ignore[no-untyped-def]
    response = client.post("/api/projects", json={"name": name, "labels": LABELS[:2]})
    assert response.status_code == 201, response.text
    return response.json()


def test_backups_of_a_deleted_project_never_reach_the_next_project_with_its_id(
    app, admin, make_user, task_with_data, make_service, storage_env_local
) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_user("alice"), make_user("bob")
    secret = _project(alice, "alice-secret-project")
    task_with_data(alice, frames=2, project_id=secret["id"], name="alice-task")
    alone = task_with_data(alice, frames=1, name="alice-standalone")
    svc = make_service()
    report = periodic.run_due(svc)  # every project and standalone task, both kinds
    assert len(report.made) == 4, report
    made = alice.get("/api/backups").json()
    assert made["count"] == 4
    mine = {b["id"] for b in made["results"]}

    assert alice.delete(f"/api/projects/{secret['id']}").status_code == 204
    assert alice.delete(f"/api/tasks/{alone['id']}").status_code == 204
    # Bob's project and task: on SQLite they get the freed ids (the attack of the issue).
    theirs = _project(bob, "bob-project")
    task_with_data(bob, frames=1, project_id=theirs["id"], name="bob-task")
    bob_task = task_with_data(bob, frames=1, name="bob-standalone")
    if app.state.db.is_sqlite:
        assert theirs["id"] == secret["id"] and bob_task["id"] == alone["id"]

    listed = bob.get("/api/backups").json()
    assert listed["count"] == 0, listed
    assert bob.get("/api/backups", params={"project_id": theirs["id"]}).json()["count"] == 0
    assert bob.get("/api/backups", params={"task_id": bob_task["id"]}).json()["count"] == 0
    for backup_id in mine:
        assert bob.get(f"/api/backups/{backup_id}").status_code == 404
        assert bob.get(f"/api/backups/{backup_id}/download").status_code == 404
        assert bob.post(f"/api/backups/{backup_id}/restore").status_code == 404
        assert bob.delete(f"/api/backups/{backup_id}").status_code == 404
    status = bob.get("/api/backups/status").json()
    assert "alice" not in str(status["results"]), status["results"]

    # Bob's own backups start a schedule of their own; Alice's stay hers, none rotated away.
    svc.clock.advance(days=2)
    report = periodic.run_due(svc)
    assert {(t, k) for t, _, k in report.made} == {
        ("project", "annotations"),
        ("project", "full"),
        ("task", "annotations"),
        ("task", "full"),
    }
    bob_listed = bob.get("/api/backups").json()
    assert bob_listed["count"] == 4
    assert {b["id"] for b in bob_listed["results"]}.isdisjoint(mine)
    rows = bob.get("/api/backups/status").json()["results"]
    assert {r["name"] for r in rows} == {"bob-project", "bob-standalone"}, rows
    assert mine <= {b["id"] for b in alice.get("/api/backups").json()["results"]}
    assert mine <= {b["id"] for b in admin.get("/api/backups").json()["results"]}

    # Alice can still restore her deleted project, as a new one of hers; Bob's is untouched.
    full = next(b for b in made["results"] if b["kind"] == "full" and b["target_type"] == "project")
    replace = alice.post(f"/api/backups/{full['id']}/restore", json={"mode": "replace"})
    assert _wait(alice, replace)["status"] == "failed"
    assert bob.get(f"/api/projects/{theirs['id']}").json()["name"] == "bob-project"
    done = _wait(alice, alice.post(f"/api/backups/{full['id']}/restore"))
    assert done["status"] == "finished", done
    restored = alice.get("/api/projects").json()["results"]
    assert [p["name"] for p in restored] == ["alice-secret-project"]
    assert restored[0]["id"] != theirs["id"]


def test_an_outage_orphan_is_swept_by_the_next_run(app, make_service, local_storage) -> None:  # type: ignore[no-untyped-def]
    import os
    import time

    from labelvault.backups.paths import instance_root

    svc = make_service()
    # What a WebDAV outage mid-upload leaves: a temporary its writer could not remove.
    root = Path(local_storage.location.root) / instance_root(app.state.settings)
    folder = root / "backups-periodic" / "project-1" / "full"
    folder.mkdir(parents=True)
    orphan = folder / ".tmp-0123456789abcdef-project_1_full.zip"
    orphan.write_bytes(b"x" * 1000)
    running = folder / ".tmp-fedcba9876543210-project_1_full.zip"
    running.write_bytes(b"y")
    old = time.time() - 2 * 3600
    os.utime(orphan, (old, old))
    periodic.run_due(svc)
    assert not orphan.exists()
    assert running.exists()  # young: maybe an upload still running elsewhere
