"""Rolling a project back to a time: exactness, the safety backup, refusals, the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from click.testing import CliRunner

from labelvault.backups import rollback, snapshots
from labelvault.backups.cli import backup
from labelvault.backups.journal import Journal
from labelvault.backups.serverlock import ServerLock
from labelvault.storage import Storage
from tests.helpers.backups import (
    annotate,
    canonical_annotations,
    jobs_of,
    labels_by_name,
    make_project,
    task_ids,
)

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class StepClock:
    """Commit times the test chooses: each journaled change reads the current value."""

    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now

    def at(self, hours: float) -> datetime:
        self.now = START + timedelta(hours=hours)
        return self.now


@pytest.fixture
def step_clock() -> StepClock:
    return StepClock()


@pytest.fixture
def journal(app, storage_env_local: Storage, step_clock: StepClock) -> Iterator[Journal]:
    """The app's journal into the storage the backups use, shipping only when flushed."""
    running = Journal(app.state.settings, storage_env_local, interval=3600, clock=step_clock)
    running.start()
    yield running
    running.stop(flush_timeout=5)


def _wait(client: Any, response: Any) -> dict:
    assert response.status_code == 202, response.text
    return client.get(f"/api/requests/{response.json()['rq_id']}").json()


def _history(app, admin, task_with_data, journal, step_clock, storage) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """A project snapshotted at 09:30, then saves A at 10:00, B at 11:00 and C at 12:00."""
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    labels = labels_by_name(admin, project["id"])
    task = task_ids(admin, project["id"])[0]
    job = jobs_of(admin, task)[0]["id"]
    snapshots.create_snapshot(
        app.state.settings, app.state.db, storage, reason="scheduled", now=step_clock.at(0.5)
    )
    states = {}
    for name, hour, x in (("A", 1, 11.0), ("B", 2, 22.0), ("C", 3, 33.0)):
        step_clock.at(hour)
        annotate(admin, job, labels, x=x)
        states[name] = canonical_annotations(admin, task)
    assert journal.flush(timeout=30)
    assert states["A"] != states["B"] != states["C"] != states["A"]
    return {"project": project, "task": task, "job": job, "states": states}


def test_a_rollback_brings_back_exactly_the_annotations_of_that_time(
    app, admin, task_with_data, journal, step_clock, storage_env_local
) -> None:  # type: ignore[no-untyped-def]
    h = _history(app, admin, task_with_data, journal, step_clock, storage_env_local)
    project_id = h["project"]["id"]
    points = admin.get(f"/api/projects/{project_id}/rollback/points").json()
    assert points == {
        "oldest": (START + timedelta(hours=0.5)).isoformat(),
        "newest": (START + timedelta(hours=3)).isoformat(),
    }
    version = admin.get(f"/api/jobs/{h['job']}/annotations").json()["version"]

    step_clock.at(4)  # the rollback's own saves are journaled at 13:00
    between = (START + timedelta(hours=1, minutes=30)).isoformat()
    done = _wait(admin, admin.post(f"/api/projects/{project_id}/rollback", json={"to": between}))
    assert done["status"] == "finished", done
    assert canonical_annotations(admin, h["task"]) == h["states"]["A"]
    assert "1 jobs restored, 0 skipped" in done["message"], done["message"]
    # Open tabs hold the old version: their next save is refused and merged, not lost.
    assert admin.get(f"/api/jobs/{h['job']}/annotations").json()["version"] > version

    # The safety backup holds C, the state the rollback replaced.
    safety = admin.get(f"/api/backups/{done['result_id']}").json()
    assert safety["kind"] == "full" and safety["reason"] == "safety"
    restored = _wait(admin, admin.post(f"/api/backups/{safety['id']}/restore"))
    assert restored["status"] == "finished", restored
    copy = restored["result_id"]
    assert copy != project_id
    assert canonical_annotations(admin, task_ids(admin, copy)[0]) == h["states"]["C"]

    # Going forward again from there: B is still in the journal.
    done = _wait(
        admin,
        admin.post(
            f"/api/projects/{project_id}/rollback",
            json={"to": (START + timedelta(hours=2, minutes=30)).isoformat()},
        ),
    )
    assert done["status"] == "finished", done
    assert canonical_annotations(admin, h["task"]) == h["states"]["B"]


def test_times_the_storage_cannot_reach_are_refused(
    app, admin, task_with_data, journal, step_clock, storage_env_local
) -> None:  # type: ignore[no-untyped-def]
    h = _history(app, admin, task_with_data, journal, step_clock, storage_env_local)
    project_id = h["project"]["id"]
    url = f"/api/projects/{project_id}/rollback"

    early = admin.post(url, json={"to": START.isoformat()})
    assert early.status_code == 400, early.text
    assert early.json()["detail"] == (
        f"the storage's oldest point is {(START + timedelta(hours=0.5)).isoformat()}; "
        "choose a later time"
    )
    future = admin.post(url, json={"to": (datetime.now(UTC) + timedelta(hours=1)).isoformat()})
    assert future.status_code == 400 and "in the future" in future.json()["detail"]
    assert admin.post(url, json={"to": "yesterday"}).status_code in (400, 422)

    # A project made after the snapshot did not exist then.
    later = admin.post("/api/projects", json={"name": "later", "labels": []}).json()
    to = START + timedelta(hours=1, minutes=30)
    done = _wait(
        admin, admin.post(f"/api/projects/{later['id']}/rollback", json={"to": to.isoformat()})
    )
    assert done["status"] == "failed"
    assert done["message"] == f"project {later['id']} did not exist at {to.isoformat()}"
    # Nothing changed, and no safety backup was needed.
    assert canonical_annotations(admin, h["task"]) == h["states"]["C"]
    assert admin.get("/api/backups", params={"kind": "full"}).json()["count"] == 0


def test_jobs_gone_since_are_skipped_and_counted(
    app, admin, task_with_data, journal, step_clock, storage_env_local
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=2, frames=2)
    first, second = task_ids(admin, project["id"])
    before = canonical_annotations(admin, first)
    snapshots.create_snapshot(
        app.state.settings, app.state.db, storage_env_local, now=step_clock.at(0.5)
    )
    step_clock.at(1)
    assert admin.delete(f"/api/tasks/{first}/annotations").status_code == 204
    assert admin.delete(f"/api/tasks/{second}").status_code == 204
    assert journal.flush(timeout=30)
    ctx = app.state.backups.context
    result = rollback.rollback(ctx, project["id"], START + timedelta(hours=0.75))
    assert (result.jobs_restored, result.jobs_skipped) == (1, 1)
    assert result.journal_reached is None  # nothing was saved between the snapshot and then
    assert canonical_annotations(admin, first) == before


def test_only_the_projects_managers_may_roll_it_back(
    app, admin, make_user, task_with_data, journal, step_clock, storage_env_local
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    worker = make_user("worker")
    job = jobs_of(admin, task_ids(admin, project["id"])[0])[0]["id"]
    assert admin.patch(f"/api/jobs/{job}", json={"assignee": worker.user_id}).status_code == 200
    assert worker.get(f"/api/projects/{project['id']}").status_code == 200
    to = {"to": (START + timedelta(hours=1)).isoformat()}
    assert worker.post(f"/api/projects/{project['id']}/rollback", json=to).status_code == 403
    assert worker.get(f"/api/projects/{project['id']}/rollback/points").status_code == 403
    stranger = make_user("stranger")
    assert stranger.post(f"/api/projects/{project['id']}/rollback", json=to).status_code == 404


def test_the_cli_rolls_back_and_refuses_while_a_server_holds_the_data_dir(
    app, admin, task_with_data, journal, step_clock, storage_env_local, sqlite_only
) -> None:  # type: ignore[no-untyped-def]
    h = _history(app, admin, task_with_data, journal, step_clock, storage_env_local)
    settings = app.state.settings
    args = [
        "rollback",
        "--data-dir",
        str(settings.data_dir),
        "--database-url",
        app.state.db.url,
        "--project",
        str(h["project"]["id"]),
        "--to",
        "2026-03-02T10:30:00",  # UTC when bare
    ]
    runner = CliRunner()
    lock = ServerLock(settings.data_dir)
    lock.acquire("labelvault serve --port 8080")
    try:
        result = runner.invoke(backup, args)
    finally:
        lock.release()
    assert result.exit_code == 1
    assert "uses this data dir; stop it or pass --force" in result.output
    assert canonical_annotations(admin, h["task"]) == h["states"]["C"]

    result = runner.invoke(backup, args)
    assert result.exit_code == 0, result.output
    assert "1 jobs restored" in result.output and "safety backup" in result.output
    assert canonical_annotations(admin, h["task"]) == h["states"]["A"]
