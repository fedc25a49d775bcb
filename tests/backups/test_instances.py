"""Several instances on one storage: each keeps to `<instance>/`, never touching another's."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient
from sqlalchemy import select

from labelvault.accounts import service as account_service
from labelvault.app import create_app
from labelvault.backups import (
    catalog,
    instance,
    lifecycle,
    paths,
    periodic,
    restore,
    rotation,
    snapshots,
)
from labelvault.backups.cli import backup
from labelvault.backups.config import BackupConfig
from labelvault.backups.context import BackupContext
from labelvault.backups.models import BackupRecord
from labelvault.config import Settings
from labelvault.db.migrate import upgrade
from labelvault.storage import Storage
from tests.conftest import ADMIN, Api
from tests.helpers.backups import annotate, jobs_of, labels_by_name, make_project, task_ids


def _files(root: Path) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_size for p in root.rglob("*") if p.is_file()}


def _paths(ctx: BackupContext) -> list[str]:
    with ctx.db.session() as session:
        return sorted(session.scalars(select(BackupRecord.path)))


@pytest.fixture
def beta(database, scratch_dbs, tmp_path: Path) -> Iterator[tuple[Any, Settings]]:  # type: ignore[no-untyped-def]
    """A second instance, "beta": its own data dir and database, logged in as its admin."""
    db = scratch_dbs.new("sqlite" if database.is_sqlite else "postgresql")
    upgrade(db.engine)
    settings = Settings(
        data_dir=tmp_path / "beta-data",
        instance_name="beta",
        admin_user=ADMIN[0],
        admin_password=ADMIN[1],
        queue_url="immediate",
        backups=False,
    )
    settings.ensure_dirs()
    with db.session() as session:
        account_service.ensure_admin(session, ADMIN[0], ADMIN[1])
    application = create_app(settings, db)
    with TestClient(application):
        client = Api(application)
        response = client.post("/api/auth/login", json={"username": ADMIN[0], "password": ADMIN[1]})
        assert response.status_code == 200, response.text
        client.headers["X-CSRFToken"] = client.cookies["csrftoken"]
        yield client, settings


def test_two_instances_on_one_storage_never_touch_each_others_files(
    app, admin, task_with_data, make_service, clock, local_storage: Storage, beta, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    app.state.settings.instance_name = "alpha"
    b_client, b_settings = beta
    a_project = make_project(admin, task_with_data, name="alpha-cars", tasks=1, frames=2)
    b_project = make_project(b_client, task_with_data, name="beta-cars", tasks=1, frames=2)
    limits = {"backup_keep_annotations": 1, "backup_quota": "10", "snapshot_keep": 1}
    a = make_service(**limits)
    b = BackupContext(
        b_settings,
        b_client.app.state.db,
        config=BackupConfig.from_settings(b_settings, storage_url=str(local_storage), **limits),
        storage=local_storage,
        clock=clock,
    )
    root = Path(local_storage.location.root)

    for _ in range(2):
        periodic.backup_now(b, "project", b_project["id"], "annotations")
        clock.advance(minutes=20)
    beta_files = {k: v for k, v in _files(root).items() if k.startswith("beta/")}
    assert len([k for k in beta_files if k.endswith(".zip")]) == 2
    assert all(k.startswith("beta/backups-periodic/") for k in _files(root))

    for _ in range(3):
        periodic.backup_now(a, "project", a_project["id"], "annotations")
        clock.advance(minutes=20)
    # Alpha's catalog is its storage prefix: it adopts nothing of beta's ...
    assert catalog.reconcile(a) == {"adopted": 0, "dropped": 0}
    assert all(e.path.count("/") == 2 for e in a.periodic.walk())  # project-N/kind/file
    # ... and its rotation and quota delete only its own older files.
    result = rotation.rotate(a)
    assert len(result.delete) == 2 and "over the quota" in result.warning
    after = _files(root)
    assert {k: v for k, v in after.items() if k.startswith("beta/")} == beta_files
    assert len([k for k in after if k.startswith("alpha/") and k.endswith(".zip")]) == 1

    # Beta's scheduler pass and rotation leave alpha's one backup alone.
    clock.advance(hours=1)
    alpha_files = {k: v for k, v in after.items() if k.startswith("alpha/")}
    periodic.run_due(b)
    assert catalog.reconcile(b) == {"adopted": 0, "dropped": 0}
    assert {k: v for k, v in _files(root).items() if k.startswith("alpha/")} == alpha_files

    # Each restores its own backup, from its own prefix, with paths that say whose it is.
    with a.db.session() as session:
        (record,) = session.scalars(select(BackupRecord))
        shown = catalog.record_json(record, a.periodic_root)
    assert shown["path"].startswith("alpha/backups-periodic/project-")
    assert restore.restore(a, record.id, None)["kind"] == "annotations"
    assert [r for r in _paths(b) if r.startswith("project-")] and all(
        (root / "beta" / "backups-periodic" / p).is_file() for p in _paths(b)
    )

    # Snapshots too: each instance writes, lists and prunes (keep 1) only its own.
    for ctx in (a, b, a, b):
        instance.snapshot(ctx, "manual")
        clock.advance(minutes=1)
    a_snaps = snapshots.list_snapshots(local_storage, "alpha")
    b_snaps = snapshots.list_snapshots(local_storage, "beta")
    assert len(a_snaps) == 1 and len(b_snaps) == 1
    assert a_snaps[0].folder.startswith("alpha/") and b_snaps[0].folder.startswith("beta/")
    assert all(k.startswith(("alpha/", "beta/")) for k in _files(root))
    # A new data dir that names no instance must say which: "latest" is never a guess.
    stranger = Settings(data_dir=tmp_path / "new-node", backups=False)
    with pytest.raises(snapshots.SnapshotError, match="several instances"):
        snapshots.restore_instance(stranger, local_storage)


def test_a_record_written_to_another_storage_is_no_good_copy_here(
    app, admin, task_with_data, make_service, clock, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    job = jobs_of(admin, task_ids(admin, project["id"])[0])[0]
    labels = labels_by_name(admin, project["id"])
    server = make_service(backup_keep_annotations=1)
    kept = periodic.backup_now(server, "project", project["id"], "annotations")
    clock.advance(minutes=20)
    annotate(admin, job["id"], labels, x=7.0)
    # The CLI run against another storage writes a newer record into the same catalog.
    other = make_service(Storage.from_url(str(tmp_path / "elsewhere")), backup_keep_annotations=1)
    periodic.backup_now(other, "project", project["id"], "annotations")

    result = rotation.rotate(server)
    assert result.delete == []
    assert server.periodic.exists(kept.path)
    assert catalog.get(server, kept.id).status == "good"


def test_the_cli_uses_the_storage_the_server_started_with(
    app, admin, task_with_data, sqlite_only, local_storage: Storage, monkeypatch: pytest.MonkeyPatch
) -> None:  # type: ignore[no-untyped-def]
    project = make_project(admin, task_with_data, tasks=1, frames=2)
    settings = app.state.settings
    monkeypatch.setenv("LABELVAULT_STORAGE_URL", local_storage.location.root)
    settings.backups = True
    runtime = lifecycle.on_startup(settings, app.state.db, app.state.queue)
    lifecycle.on_shutdown(runtime, snapshot=False)
    kept = settings.data_dir / paths.STORAGE_URL_FILE
    assert kept.read_text().strip() == local_storage.location.root
    assert kept.stat().st_mode & 0o077 == 0

    monkeypatch.delenv("LABELVAULT_STORAGE_URL")
    common = ["--data-dir", str(settings.data_dir), "--database-url", app.state.db.url]
    result = CliRunner().invoke(backup, ["run", *common, "--project", str(project["id"])])
    assert result.exit_code == 0, result.output
    instance = settings.resolved_instance_name
    written = list((Path(local_storage.location.root) / instance).rglob("*.zip"))
    assert len(written) == 1, written
