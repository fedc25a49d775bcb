"""Periodic project backups with the injectable clock: schedule, skip-unchanged, rotation,
quota, failures with backoff, and every project on every page."""

from __future__ import annotations

import shutil
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import insert, select

from labelvault.backups import archive, instance, lifecycle, periodic, rotation
from labelvault.backups.models import BackupRecord, BackupStatus
from labelvault.backups.status import status_json
from labelvault.projects.models import Project
from labelvault.storage import Storage
from tests.conftest import LABELS
from tests.helpers.backups import annotate, jobs_of, labels_by_name, make_project, task_ids


def _records(svc) -> list[tuple[str, int, str]]:  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        rows = session.scalars(select(BackupRecord).order_by(BackupRecord.id))
        return [(r.target_type, r.target_id, r.kind) for r in rows]


def _status(svc, target_type: str, target_id: int, kind: str) -> BackupStatus:  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        row = session.get(BackupStatus, (target_type, target_id, kind))
        assert row is not None
        session.expunge(row)
        return row


def test_schedule_skips_unchanged_and_follows_the_tiers(
    app, admin, task_with_data, make_service, clock
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    lone = task_with_data(frames=2, name="lone")
    svc = make_service()

    first = periodic.run_due(svc)
    assert sorted(first.made) == sorted(
        [
            ("project", project["id"], "annotations"),
            ("project", project["id"], "full"),
            ("task", lone["id"], "annotations"),
            ("task", lone["id"], "full"),
        ]
    )
    files = [e.path for e in svc.periodic.walk()]
    assert len([f for f in files if f.endswith(".zip")]) == 4
    assert not any(".tmp-" in f for f in files)
    # Light backups: the next annotation-only one is due in 15 min, the full one in a day.
    assert _status(svc, "project", project["id"], "annotations").next_due.replace(
        tzinfo=clock.now.tzinfo
    ) == clock.now + timedelta(minutes=15)
    assert _status(svc, "project", project["id"], "full").next_due.replace(
        tzinfo=clock.now.tzinfo
    ) == clock.now + timedelta(days=1)

    assert periodic.run_due(svc).made == []  # nothing is due yet

    clock.advance(minutes=16)
    report = periodic.run_due(svc)
    assert report.made == [] and report.unchanged == 2  # due, but nothing changed

    job = jobs_of(admin, task_ids(admin, project["id"])[0])[0]
    annotate(admin, job["id"], labels_by_name(admin, project["id"]), x=7.0)
    clock.advance(minutes=16)
    report = periodic.run_due(svc)
    assert report.made == [("project", project["id"], "annotations")] and report.unchanged == 1

    clock.advance(days=1)
    report = periodic.run_due(svc)
    assert ("project", project["id"], "full") in report.made
    assert ("task", lone["id"], "full") not in report.made
    assert len(_records(svc)) == 6


def test_interval_comes_from_the_size_of_the_last_backup(
    app, admin, sqlite_only, make_service, clock
) -> None:  # type: ignore[no-untyped-def]
    admin.post("/api/projects", json={"name": "p", "labels": LABELS})
    svc = make_service(backup_tiers_annotations="10:1m,*:3h", backup_tiers_full="*:2d")
    periodic.run_due(svc)
    with svc.db.session() as session:
        rows = list(session.scalars(select(BackupStatus).where(BackupStatus.kind == "annotations")))
    assert rows and all(r.last_size > 10 for r in rows)
    assert {r.next_due.replace(tzinfo=clock.now.tzinfo) for r in rows} == {
        clock.now + timedelta(hours=3)
    }


def test_a_failing_project_is_retried_with_backoff_and_never_stops_the_others(
    app, sqlite_only, make_service, clock, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    with app.state.db.session() as session:
        ids = [
            session.execute(
                insert(Project).values(name=f"p{i}", bug_tracker="").returning(Project.id)
            ).scalar_one()
            for i in range(3)
        ]
    bad = ids[1]
    real = archive.make_backup

    def flaky(session, target_type, target_id, *args, **kwargs):  # type: ignore[no-untyped-def]
        if target_id == bad:
            raise RuntimeError("disk on fire")
        return real(session, target_type, target_id, *args, **kwargs)

    monkeypatch.setattr(archive, "make_backup", flaky)
    svc = make_service()
    report = periodic.run_due(svc)
    assert {(t, i) for t, i, _k in report.made} == {("project", ids[0]), ("project", ids[2])}
    assert {(i, k) for _t, i, k, _e in report.failed} == {(bad, "annotations"), (bad, "full")}
    status = _status(svc, "project", bad, "annotations")
    assert status.failures == 1 and "disk on fire" in status.last_error

    clock.advance(seconds=30)
    assert periodic.run_due(svc).failed == []  # backing off: not due yet
    clock.advance(seconds=31)
    assert len(periodic.run_due(svc).failed) == 2
    assert _status(svc, "project", bad, "annotations").failures == 2
    clock.advance(seconds=90)
    assert periodic.run_due(svc).failed == []  # second backoff is 2 minutes

    monkeypatch.setattr(archive, "make_backup", real)
    clock.advance(seconds=31)
    report = periodic.run_due(svc)
    assert {(i, k) for _t, i, k in report.made} == {(bad, "annotations"), (bad, "full")}
    status = _status(svc, "project", bad, "annotations")
    assert status.failures == 0 and status.last_error == "" and status.last_success is not None
    with svc.db.session() as session:
        body = status_json(session, svc.config)
    row = next(r for r in body["results"] if r["target_id"] == bad and r["kind"] == "full")
    assert row["last_failure"] is not None and row["last_error"] is None


def test_rotation_and_quota_keep_the_newest_good_backup(
    app, admin, task_with_data, sqlite_only, make_service, clock
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    job = jobs_of(admin, task_ids(admin, project["id"])[0])[0]
    labels = labels_by_name(admin, project["id"])
    svc = make_service(backup_keep_annotations=2)
    for step in range(4):
        annotate(admin, job["id"], labels, x=10.0 + step)
        periodic.backup_now(svc, "project", project["id"], "annotations")
        clock.advance(minutes=20)
    rotation.rotate(svc)
    kept = [p for p in svc.periodic.walk() if p.path.endswith(".zip")]
    assert len(kept) == 2 and len(_records(svc)) == 2

    periodic.backup_now(svc, "project", project["id"], "full")
    newest = max(_records_full(svc))
    svc.config.quota = 10  # far below one backup
    result = rotation.rotate(svc)
    assert "over the quota" in result.warning
    with svc.db.session() as session:
        left = list(session.scalars(select(BackupRecord)))
        body = status_json(session, svc.config)
    # One newest good backup per kind is all that is left, and the status says why.
    assert sorted(r.kind for r in left) == ["annotations", "full"]
    assert newest in [r.id for r in left]
    assert "over the quota" in body["warning"]


def _records_full(svc) -> list[int]:  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        return list(session.scalars(select(BackupRecord.id).where(BackupRecord.kind == "full")))


def test_every_project_on_every_page_is_backed_up(app, sqlite_only, make_service, tmp_path) -> None:  # type: ignore[no-untyped-def]
    with app.state.db.session() as session:
        rows = [{"name": f"p{i}", "bug_tracker": ""} for i in range(1000)]
        session.execute(insert(Project), rows)
    # On tmpfs when there is one: the subject is paging and isolation, not disk fsyncs.
    shm = Path("/dev/shm")
    root = shm / f"lv-test-{uuid.uuid4().hex}" if shm.is_dir() else tmp_path / "storage"
    try:
        svc = make_service(Storage.from_url(str(root)), backup_kinds="annotations")
        report = periodic.run_due(svc)
        assert report.failed == []
        with app.state.db.session() as session:
            all_ids = set(session.scalars(select(Project.id)))
        assert {i for _t, i, _k in report.made} == all_ids and len(report.made) == 1000
        assert len([e for e in svc.periodic.walk() if e.path.endswith(".zip")]) == 1000
        assert periodic.run_due(svc).made == []
    finally:
        shutil.rmtree(root, ignore_errors=True)


def test_scheduled_snapshot_only_when_due_and_changed(
    app, admin, sqlite_only, make_service, clock
) -> None:  # type: ignore[no-untyped-def]
    svc = make_service(snapshot_interval="6h")
    first = instance.snapshot_if_due(svc)
    assert first is not None
    clock.advance(hours=7)
    assert instance.snapshot_if_due(svc) is None  # due, but nothing changed
    admin.post("/api/projects", json={"name": "new", "labels": LABELS})
    clock.advance(minutes=1)
    second = instance.snapshot_if_due(svc)  # overdue and now changed: at once
    assert second is not None and second.tables["projects"] == 1
    admin.post("/api/projects", json={"name": "newer", "labels": LABELS})
    clock.advance(hours=5)
    assert instance.snapshot_if_due(svc) is None  # changed, but the interval has not passed
    clock.advance(hours=1)
    assert instance.snapshot_if_due(svc) is not None


def test_lifespan_hooks_clean_up_and_snapshot_on_shutdown(
    app, sqlite_only, storage_env_local
) -> None:  # type: ignore[no-untyped-def]
    from labelvault.backups.snapshots import list_snapshots

    # The shared test settings turn backups off; this test is about the hooks themselves.
    app.state.settings.backups = True
    leftover = app.state.settings.data_dir / ".backup-tmp" / "backup-dead"
    leftover.mkdir(parents=True)
    runtime = lifecycle.on_startup(app.state.settings, app.state.db, app.state.queue)
    try:
        assert not leftover.exists()
        assert runtime.scheduler is not None and runtime.scheduler.running
        assert runtime.journal is not None and runtime.watcher is not None
    finally:
        lifecycle.on_shutdown(runtime)
    assert runtime.journal is None and runtime.watcher is None
    reasons = [s.reason for s in list_snapshots(storage_env_local)]
    # Newest first: the one on exit; the watcher's first-start one may have come before it.
    assert reasons[0] == "shutdown" and set(reasons[1:]) <= {"first start"}, reasons


def test_a_due_backup_is_claimed_by_one_scheduler_only(
    app, admin, task_with_data, make_service, clock
) -> None:  # type: ignore[no-untyped-def]
    """Two schedulers (two servers or workers) on one database: each target once."""
    from labelvault.backups import status as status_rows

    project = make_project(admin, task_with_data, tasks=1, frames=2)
    first, second = (
        make_service(backup_kinds="annotations"),
        make_service(backup_kinds="annotations"),
    )
    now = clock()
    assert status_rows.claim(first, "project", project["id"], "annotations", now, "u1")
    # The other one sees it claimed, until the lease of a killed run has passed.
    assert not status_rows.claim(second, "project", project["id"], "annotations", now, "u1")
    later = now + status_rows.CLAIM_LEASE
    assert status_rows.claim(second, "project", project["id"], "annotations", later, "u1")
    # A row another target left under the id is reset and taken once.
    assert status_rows.claim(first, "project", project["id"], "annotations", now, "u2")
    assert not status_rows.claim(second, "project", project["id"], "annotations", now, "u2")
    with first.db.session() as session:
        session.get(BackupStatus, ("project", project["id"], "annotations")).next_due = None

    made = periodic.run_due(first).made + periodic.run_due(second).made
    assert made == [("project", project["id"], "annotations")]
    assert _records(first) == made
