"""What restores and runs keep beyond the CVAT layout: rotation after a forced run, task
assignees, task and job ids, frame folders, and one timestamp format on both databases."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner
from sqlalchemy import select, update

from labelvault.backups import catalog, periodic, restore
from labelvault.backups.cli import backup
from labelvault.backups.models import BackupRecord
from labelvault.backups.status import status_json
from labelvault.media.models import Frame
from labelvault.storage import Storage
from labelvault.tasks.models import Task
from tests.helpers.backups import (
    annotate,
    canonical_annotations,
    jobs_of,
    labels_by_name,
    make_project,
    task_ids,
)


def test_a_forced_backup_run_rotates_afterwards(
    app, admin, task_with_data, sqlite_only, local_storage: Storage, monkeypatch
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    job = jobs_of(admin, task_ids(admin, project["id"])[0])[0]
    labels = labels_by_name(admin, project["id"])
    monkeypatch.setenv("LABELVAULT_STORAGE_URL", local_storage.location.root)
    monkeypatch.setenv("LABELVAULT_BACKUP_KEEP_ANNOTATIONS", "1")
    settings = app.state.settings
    common = ["--data-dir", str(settings.data_dir), "--database-url", app.state.db.url]
    run = ["run", *common, "--project", str(project["id"])]
    first = CliRunner().invoke(backup, run)
    assert first.exit_code == 0 and "deleted 0" in first.output, first.output
    annotate(admin, job["id"], labels, x=5.0)
    second = CliRunner().invoke(backup, run)
    assert second.exit_code == 0 and "deleted 1" in second.output, second.output
    with app.state.db.session() as session:
        assert len(list(session.scalars(select(BackupRecord)))) == 1


def test_a_full_restore_keeps_the_task_assignee_and_frame_folders(
    app, admin, make_user, task_with_data, sqlite_only, make_service
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    task = task_ids(admin, project["id"])[0]
    bob = make_user("bob")
    assert admin.patch(f"/api/tasks/{task}", json={"assignee_id": bob.user_id}).is_success
    # As a task made from the share or a bucket names its frames.
    with app.state.db.session() as session:
        session.execute(
            update(Frame).where(Frame.task_id == task, Frame.frame == 0).values(name="batch1/a.png")
        )
    svc = make_service()
    full = periodic.backup_now(svc, "project", project["id"], "full")
    result = restore.restore(svc, full.id, admin.user_id)
    (restored,) = task_ids(admin, result["project_id"])
    with app.state.db.session() as session:
        assert session.get(Task, restored).assignee_id == bob.user_id
        query = select(Frame.frame, Frame.name).where(Frame.task_id == restored)
        names = {number: name for number, name in session.execute(query)}
    assert names[0] == "batch1/a.png" and "/" not in names[1]


def test_a_replace_restore_keeps_task_and_job_ids(
    app, admin, task_with_data, make_service, clock
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=2, frames=2)
    tasks = task_ids(admin, project["id"])
    jobs = {t: [j["id"] for j in jobs_of(admin, t)] for t in tasks}
    before = {t: canonical_annotations(admin, t) for t in tasks}
    svc = make_service()
    full = periodic.backup_now(svc, "project", project["id"], "full")
    clock.advance(minutes=5)
    annotate(admin, jobs[tasks[0]][0], labels_by_name(admin, project["id"]), x=44.0)

    result = restore.restore(svc, full.id, admin.user_id, mode="replace")
    assert task_ids(admin, project["id"]) == tasks
    assert {t: [j["id"] for j in jobs_of(admin, t)] for t in tasks} == jobs
    assert {t: canonical_annotations(admin, t) for t in tasks} == before
    for t in tasks:
        frame = admin.get(
            f"/api/tasks/{t}/data", params={"type": "frame", "number": 1, "quality": "original"}
        )
        assert frame.status_code == 200
    media = Path(app.state.settings.media_dir) / "tasks"
    assert sorted(p.name for p in media.iterdir()) == sorted(str(t) for t in tasks)
    assert catalog.get(svc, result["safety_backup_id"]).reason == "safety"


def test_timestamps_are_utc_with_z_on_every_database(
    app, admin, task_with_data, make_service, clock
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    svc = make_service()
    record = periodic.backup_now(svc, "project", project["id"], "annotations")
    expected = clock.now.strftime("%Y-%m-%dT%H:%M:%SZ")
    assert catalog.record_json(catalog.get(svc, record.id))["created_date"] == expected
    with svc.db.session() as session:
        rows = status_json(session, svc.config)["results"]
    assert [r["last_success"] for r in rows] == [expected]
    listed = admin.get("/api/backups").json()["results"]
    assert [b["created_date"] for b in listed] == [expected]
