"""Backups and snapshots on every storage kind restore; faults leave nothing half-done."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from labelvault.backups import catalog, lifecycle, periodic, restore, snapshots, status
from labelvault.backups.errors import BackupIntegrityError
from labelvault.backups.models import BackupRecord
from labelvault.config import Settings
from labelvault.storage import Storage, StorageError
from tests.helpers.backups import (
    annotate,
    canonical_annotations,
    jobs_of,
    labels_by_name,
    make_project,
    table_rows,
    task_ids,
)
from tests.helpers.servers import S3_BUCKET


@pytest.fixture(params=["local", "webdav", "s3", "azure", "gcs"])
def any_storage(request, tmp_path: Path) -> Storage:  # type: ignore[no-untyped-def]
    if request.param == "local":
        return Storage.from_url(str(tmp_path / "storage"))
    if request.param == "webdav":
        server = request.getfixturevalue("webdav_server")
        return Storage.from_url(server.url()).sub(f"t-{uuid.uuid4().hex[:10]}")
    if request.param == "azure":
        server = request.getfixturevalue("azurite_server")
        root = Storage.from_url(server.url(), connection_string=server.connection_string())
        return root.sub(f"t-{uuid.uuid4().hex[:10]}")
    if request.param == "gcs":
        server = request.getfixturevalue("gcs_server")
        return Storage.from_url(server.url()).sub(f"t-{uuid.uuid4().hex[:10]}")
    server = request.getfixturevalue("s3_server")
    root = Storage.from_url(server.url(bucket=S3_BUCKET), **server.options())
    return root.sub(f"t-{uuid.uuid4().hex[:10]}")


def test_backups_restore_on_every_backend(
    app, admin, task_with_data, sqlite_only, make_service, any_storage: Storage
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=2, frames=3)
    svc = make_service(any_storage)
    tasks = task_ids(admin, project["id"])
    before = {t: canonical_annotations(admin, t) for t in tasks}
    annotations = periodic.backup_now(svc, "project", project["id"], "annotations")
    full = periodic.backup_now(svc, "project", project["id"], "full")

    # The annotation-only backup is also a CVAT for images 1.1 dataset.
    local = Path(app.state.settings.data_dir) / "check.zip"
    local.write_bytes(svc.periodic.read_bytes(annotations.path))
    with zipfile.ZipFile(local) as zf:
        assert "<annotations>" in zf.read("annotations.xml").decode()
        assert not any(n.endswith(".png") for n in zf.namelist())
    local.write_bytes(svc.periodic.read_bytes(full.path))
    with zipfile.ZipFile(local) as zf:
        names = set(zf.namelist())
    assert {"project.json", "task_0/task.json", "task_1/annotations.json"} <= names
    assert "task_0/data/manifest.jsonl" in names and "task_0/data/img0.png" in names

    # Work is lost: every annotation of the project is deleted...
    for t in tasks:
        assert admin.delete(f"/api/tasks/{t}/annotations").status_code == 204
    assert canonical_annotations(admin, tasks[0]) != before[tasks[0]]
    # ... and comes back in place from the annotation-only backup.
    result = restore.restore(svc, annotations.id, None)
    assert result == {"kind": "annotations", "jobs": 2, "skipped": 0}
    assert {t: canonical_annotations(admin, t) for t in tasks} == before

    # The full backup makes a new project with the same tasks, images and annotations.
    admin_id = admin.user_id
    restored = restore.restore(svc, full.id, admin_id)
    new_tasks = task_ids(admin, restored["project_id"])
    assert len(new_tasks) == 2
    assert [canonical_annotations(admin, t) for t in new_tasks] == [before[t] for t in tasks]
    frame = admin.get(
        f"/api/tasks/{new_tasks[0]}/data",
        params={"type": "frame", "number": 1, "quality": "original"},
    )
    assert frame.status_code == 200 and frame.content[:4] == b"\x89PNG"


def test_snapshots_list_restore_and_prune_on_every_backend(
    app, admin, task_with_data, sqlite_only, scratch_dbs, any_storage: Storage, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    make_project(admin, task_with_data, tasks=1, frames=2)
    settings, db = app.state.settings, app.state.db
    first = snapshots.create_snapshot(settings, db, any_storage, reason="test")
    second = snapshots.create_snapshot(settings, db, any_storage, reason="test")
    listed = snapshots.list_snapshots(any_storage)
    assert {first.name, second.name} <= {s.name for s in listed}
    assert all(s.status == "ok" for s in listed if s.name in (first.name, second.name))

    target_db = scratch_dbs.new("sqlite")
    target = Settings(data_dir=tmp_path / "restored")
    target.ensure_dirs()
    snapshots.restore_snapshot(target, target_db, any_storage, first.name)
    tables = ["projects", "tasks", "jobs", "labels", "shapes"]
    assert table_rows(target_db.engine, tables) == table_rows(db.engine, tables)

    # Pruning keeps the newest and deletes the other from the storage itself.
    snapshots.prune_snapshots(any_storage, 1)
    assert [s.name for s in snapshots.list_snapshots(any_storage)] == [second.name]
    assert not any_storage.exists(first.path)


def test_full_restore_replaces_a_project_after_a_safety_backup(
    app, admin, task_with_data, sqlite_only, make_service, clock
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    svc = make_service()
    task = task_ids(admin, project["id"])[0]
    before = canonical_annotations(admin, task)
    full = periodic.backup_now(svc, "project", project["id"], "full")
    clock.advance(minutes=5)
    job = jobs_of(admin, task)[0]
    annotate(admin, job["id"], labels_by_name(admin, project["id"]), x=33.0)
    result = restore.restore(svc, full.id, admin.user_id, mode="replace")
    assert result["project_id"] == project["id"] and result["mode"] == "replace"
    new_task = task_ids(admin, project["id"])
    assert len(new_task) == 1 and canonical_annotations(admin, new_task[0]) == before
    # The state just before the restore is itself kept, as a safety backup.
    safety = catalog.get(svc, result["safety_backup_id"])
    assert safety.reason == "safety" and safety.kind == "full"
    # The restored task took its old id back, so its media are in that folder; the
    # replaced media are gone.
    assert new_task == [task]
    tasks_dir = app.state.settings.media_dir / "tasks"
    assert sorted(p.name for p in tasks_dir.iterdir()) == [str(task)]


def test_checksum_mismatch_is_reported_and_never_restored(
    app, admin, task_with_data, sqlite_only, make_service
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    svc = make_service()
    record = periodic.backup_now(svc, "project", project["id"], "annotations")
    task = task_ids(admin, project["id"])[0]
    admin.delete(f"/api/tasks/{task}/annotations")
    data = bytearray(svc.periodic.read_bytes(record.path))
    data[len(data) // 2] ^= 0x01
    svc.periodic.write_bytes(record.path, bytes(data))
    with pytest.raises(BackupIntegrityError, match="checksum mismatch"):
        restore.restore(svc, record.id, None)
    assert admin.get(f"/api/tasks/{task}/annotations").json()["shapes"] == []
    assert catalog.get(svc, record.id).status == "corrupt"
    with pytest.raises(BackupIntegrityError, match="marked corrupt"):
        restore.restore(svc, record.id, None)
    # The API refuses it too, and `verify` reports it.
    assert admin.post(f"/api/backups/{record.id}/restore").status_code == 400
    with pytest.raises(BackupIntegrityError):
        restore.verify(svc, record.id)


def test_storage_failing_mid_upload_lists_nothing_and_the_next_run_succeeds(
    app,
    admin,
    task_with_data,
    sqlite_only,
    make_service,
    clock,
    tmp_path: Path,
    webdav_server_factory: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=3)
    folder = tmp_path / "dav"
    folder.mkdir()
    server = webdav_server_factory(folder)
    svc = make_service(Storage.from_url(server.url()))
    real = periodic.chunks_of

    def dying(local: Path) -> Iterator[bytes]:
        data = b"".join(real(local))
        yield data[:1024]
        server.stop()  # the storage goes away in the middle of the upload
        yield data[1024:]

    monkeypatch.setattr(periodic, "chunks_of", dying)
    with pytest.raises(StorageError):
        periodic.backup_now(svc, "project", project["id"], "full")
    with svc.db.session() as session:
        assert list(session.scalars(select(BackupRecord))) == []
    row = status.status_row(svc, "project", project["id"], "full")
    assert row.failures == 1 and row.last_error

    # The server comes back (new port, same files): no backup is listed, the next run works.
    again = webdav_server_factory(folder)
    monkeypatch.setattr(periodic, "chunks_of", real)
    svc.storage = Storage.from_url(again.url())
    assert [e for e in svc.periodic.walk() if e.path.endswith(".zip")] == []
    lifecycle.startup(svc)
    assert not [p for p in folder.rglob("*") if p.is_file() and p.name.startswith(".tmp-")]
    clock.advance(minutes=2)
    report = periodic.run_due(svc)
    assert ("project", project["id"], "full") in report.made
    assert restore.verify(svc, svc_latest(svc))["checksum"] == "ok"


def svc_latest(svc) -> int:  # type: ignore[no-untyped-def]
    with svc.db.session() as session:
        return max(session.scalars(select(BackupRecord.id)))


ROOT = Path(__file__).parents[2]

KILLED_BACKUP = """
import sys, time
from pathlib import Path
from labelvault.backups.config import BackupConfig
from labelvault.backups import periodic
from labelvault.backups.context import BackupContext
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.storage import Storage

data_dir, db_url, storage_url, project_id = sys.argv[1:5]
settings = Settings(data_dir=Path(data_dir))
svc = BackupContext(
    settings, Database(db_url), config=BackupConfig.from_settings(settings, storage_url=storage_url)
)
real = periodic.chunks_of

def slow(local):
    data = b"".join(real(local))
    yield data[:1024]
    print("uploading", flush=True)
    time.sleep(120)
    yield data[1024:]

periodic.chunks_of = slow
periodic.backup_now(svc, "project", int(project_id), "full")
"""


def test_sigkill_during_a_backup_is_cleaned_at_next_start(
    app, admin, task_with_data, sqlite_only, make_service, local_storage: Storage, clock
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    settings = app.state.settings
    storage_root = local_storage.location.root
    proc = subprocess.Popen(
        [
            sys.executable,
            "-c",
            textwrap.dedent(KILLED_BACKUP),
            str(settings.data_dir),
            str(app.state.db.url),
            storage_root,
            str(project["id"]),
        ],
        stdout=subprocess.PIPE,
        # The checkout's src first, so the child runs this code even beside an installed copy.
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'src'}{os.pathsep}{ROOT}"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()  # blocks until the upload is under way
        assert line.strip() == b"uploading", line
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
    leftovers = [p for p in Path(storage_root).rglob(".tmp-*") if p.is_file()]
    assert leftovers, "the killed upload should have left a temporary"
    assert any((settings.data_dir / ".backup-tmp").iterdir())

    svc = make_service()
    cleaned = lifecycle.startup(svc)
    assert cleaned["remote"] and cleaned["local"]
    assert not [p for p in Path(storage_root).rglob(".tmp-*")]
    assert not (settings.data_dir / ".backup-tmp").exists()
    with svc.db.session() as session:
        assert list(session.scalars(select(BackupRecord))) == []
    report = periodic.run_due(svc)
    assert ("project", project["id"], "full") in report.made


def test_reconcile_adopts_committed_backups_and_drops_missing_ones(
    app, admin, task_with_data, sqlite_only, make_service
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    svc = make_service()
    kept = periodic.backup_now(svc, "project", project["id"], "annotations")
    gone = periodic.backup_now(svc, "project", project["id"], "full")
    # A crash after the upload but before the catalog row: the row is missing.
    with svc.db.session() as session:
        session.delete(session.get(BackupRecord, kept.id))
    svc.periodic.delete(gone.path)
    assert catalog.reconcile(svc) == {"adopted": 1, "dropped": 1}
    with svc.db.session() as session:
        rows = list(session.scalars(select(BackupRecord)))
    assert [(r.path, r.sha256) for r in rows] == [(kept.path, kept.sha256)]
