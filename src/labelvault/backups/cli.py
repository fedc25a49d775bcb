"""Commands `labelvault snapshot …`, `labelvault backup …` and `labelvault instance …`."""

from __future__ import annotations

import json
import os
import shutil
import sys
from pathlib import Path
from typing import Any, NoReturn

import click

from labelvault.config import Settings


def _settings(data_dir: Path | None, database_url: str | None) -> Settings:
    overrides = {"data_dir": data_dir, "database_url": database_url}
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _options(func: Any) -> Any:
    func = click.option("--storage-url", default=None, help="[env LABELVAULT_STORAGE_URL]")(func)
    func = click.option("--database-url", default=None, help="[env LABELVAULT_DATABASE_URL]")(func)
    func = click.option(
        "--data-dir",
        type=click.Path(path_type=Path),
        default=None,
        help="[env LABELVAULT_DATA_DIR]",
    )(func)
    return func


def _fail(message: str) -> NoReturn:
    click.echo(f"Error: {message}", err=True)
    sys.exit(1)


def _service(
    data_dir: Path | None, database_url: str | None, storage_url: str | None, migrate: bool = True
) -> Any:
    from labelvault.backups import paths
    from labelvault.backups.config import BackupConfig
    from labelvault.backups.context import BackupContext
    from labelvault.db import Database
    from labelvault.db.migrate import upgrade

    settings = _settings(data_dir, database_url)
    settings.ensure_dirs()
    db = Database(settings.resolved_database_url)
    if migrate:
        upgrade(db.engine)
    # Without a URL (flag or env), the one the server last started with on this data dir:
    # the CLI then reads and writes the same storage as the server.
    storage_url = storage_url or settings.storage_url or os.environ.get("LABELVAULT_STORAGE_URL")
    storage_url = storage_url or paths.remembered_storage_url(settings)
    overrides = {"storage_url": storage_url} if storage_url else {}
    return BackupContext(settings, db, config=BackupConfig.from_settings(settings, **overrides))


def _errors() -> tuple[type[Exception], ...]:
    from labelvault.backups.snapshots import SnapshotError
    from labelvault.errors import LabelVaultError

    return (LabelVaultError, SnapshotError)


STORAGE_EXIT = 3  # as uvicorn's "startup failed", but with one line instead of a traceback


def check_storage_at_start(settings: Settings) -> dict[str, Any] | None:
    """`serve`'s storage check: on any problem one line naming what to fix, then exit 3."""
    if not settings.backups:
        return None
    from labelvault.backups.lifecycle import check_at_start
    from labelvault.errors import LabelVaultError

    try:
        return check_at_start(settings)
    except LabelVaultError as exc:
        click.echo(f"Error: {' '.join(str(exc).split())}", err=True)
        sys.exit(STORAGE_EXIT)


def claim_data_dir(data_dir: Path, force: bool) -> Any:
    """The data dir's lock for a command that must be alone on it (see serverlock.claim)."""
    from labelvault.backups import serverlock
    from labelvault.errors import LabelVaultError

    try:
        return serverlock.claim(data_dir, force=force, echo=click.echo)
    except LabelVaultError as exc:
        _fail(str(exc))


def _size(n: int | None) -> str:
    value = float(n or 0)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1000 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value} B"


# ---- snapshot ----------------------------------------------------------------------------


@click.group()
def snapshot() -> None:
    """Instance snapshots: the database, media and settings in the storage's backups/."""


@snapshot.command("create")
@_options
def snapshot_create(
    data_dir: Path | None, database_url: str | None, storage_url: str | None
) -> None:
    """Write a snapshot of this instance now."""
    from labelvault.backups import instance as instance_snapshots

    service = _service(data_dir, database_url, storage_url)
    try:
        info = instance_snapshots.snapshot(service, "manual")
    except _errors() as exc:
        _fail(str(exc))
    click.echo(f"Snapshot {info.name} written ({_size(info.size)}).")


@snapshot.command("list")
@_options
def snapshot_list(data_dir: Path | None, database_url: str | None, storage_url: str | None) -> None:
    """List snapshots, newest first."""
    from labelvault.backups import snapshots

    service = _service(data_dir, database_url, storage_url, migrate=False)
    try:
        instance = snapshots.restore_instance(service.settings, service.storage)
        found = snapshots.list_snapshots(service.storage, instance)
        reach = {s.name: snapshots.journal_reach(service.storage, instance, s) for s in found}
    except _errors() as exc:
        _fail(str(exc))
    click.echo(f"{'name':<40} {'status':<10} {'size':>10}  {'schema':<7} {'reaches':<20} reason")
    for s in found:
        reaches = f"{reach[s.name]:%Y-%m-%d %H:%M:%S}Z" if reach[s.name] else "?"
        click.echo(
            f"{s.name:<40} {s.status:<10} {_size(s.size):>10}  {s.schema_revision or '?':<7} "
            f"{reaches:<20} {s.reason or ''}"
        )


@snapshot.command("show")
@_options
@click.argument("name")
def snapshot_show(
    data_dir: Path | None, database_url: str | None, storage_url: str | None, name: str
) -> None:
    """Show a snapshot's manifest (NAME or 'latest')."""
    from labelvault.backups import snapshots

    service = _service(data_dir, database_url, storage_url, migrate=False)
    try:
        instance = snapshots.restore_instance(service.settings, service.storage)
        info = snapshots.get_snapshot(service.storage, name, instance)
    except _errors() as exc:
        _fail(str(exc))
    click.echo(json.dumps(info.to_json(), indent=2))


@snapshot.command("delete")
@_options
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation")
def snapshot_delete(
    data_dir: Path | None, database_url: str | None, storage_url: str | None, name: str, yes: bool
) -> None:
    """Delete a snapshot from the storage."""
    from labelvault.backups import snapshots

    service = _service(data_dir, database_url, storage_url, migrate=False)
    if not yes:
        click.confirm(f"Delete snapshot {name}?", abort=True)
    try:
        instance = snapshots.restore_instance(service.settings, service.storage)
        snapshots.delete_snapshot(service.storage, name, instance)
    except _errors() as exc:
        _fail(str(exc))
    click.echo(f"Deleted {name}.")


@snapshot.command("restore")
@_options
@click.argument("name", default="latest")
@click.option(
    "--force", is_flag=True, help="Replace a non-empty instance; stop a server that uses it"
)
@click.option("--at", "until", default=None, help="The instance as it was at this ISO time")
def snapshot_restore(
    data_dir: Path | None,
    database_url: str | None,
    storage_url: str | None,
    name: str,
    force: bool,
    until: str | None,
) -> None:
    """Bring a snapshot (NAME or 'latest') back into an empty data dir and database."""
    restore_into(data_dir, database_url, storage_url, name, force, until=until)


def restore_into(
    data_dir: Path | None,
    database_url: str | None,
    storage_url: str | None,
    name: str,
    force: bool,
    until: str | None = None,
    *,
    locked: bool = False,
) -> None:
    """What `serve --restore-snapshot` runs before it migrates and ensures the admin.

    `locked`: the caller (serve) already holds the data dir's lock.
    """
    from labelvault.backups import snapshots

    lock = None if locked else claim_data_dir(_settings(data_dir, database_url).data_dir, force)
    service = _service(data_dir, database_url, storage_url, migrate=False)
    try:
        info = snapshots.restore_snapshot(
            service.settings,
            service.db,
            service.storage,
            name,
            force=force,
            progress=lambda m: click.echo(f"  {m}"),
            until=_when(until),
        )
    except _errors() as exc:
        _fail(str(exc))
    finally:
        service.db.dispose()
        if lock is not None:
            lock.release()
    click.echo(f"Restored snapshot {info.name} (schema {info.schema_revision}).")


def _when(text: str | None) -> Any:
    """An ISO time from the command line; without an offset it is UTC."""
    if text is None:
        return None
    from datetime import UTC, datetime

    try:
        when = datetime.fromisoformat(text.strip())
    except ValueError:
        _fail(f"cannot read the time {text!r}: write it as ISO, e.g. 2026-03-02T09:15:00Z")
    return when if when.tzinfo else when.replace(tzinfo=UTC)


# ---- backup ------------------------------------------------------------------------------


@click.group()
def backup() -> None:
    """Periodic project backups in the storage's backups-periodic/."""


@backup.command("list")
@_options
@click.option("--project", "project_id", type=int, default=None)
@click.option("--kind", type=click.Choice(["annotations", "full"]), default=None)
def backup_list(
    data_dir: Path | None,
    database_url: str | None,
    storage_url: str | None,
    project_id: int | None,
    kind: str | None,
) -> None:
    """List backups, newest first."""
    from sqlalchemy import select

    from labelvault.backups.models import BackupRecord
    from labelvault.backups.status import iso_or_none

    service = _service(data_dir, database_url, storage_url)
    with service.db.session() as session:
        query = select(BackupRecord).order_by(BackupRecord.created_date.desc())
        if project_id is not None:
            query = query.where(
                BackupRecord.target_type == "project", BackupRecord.target_id == project_id
            )
        if kind:
            query = query.where(BackupRecord.kind == kind)
        rows = list(session.scalars(query))
        click.echo(f"{'id':>5}  {'target':<14} {'kind':<12} {'size':>10}  {'status':<8} created")
        for r in rows:
            click.echo(
                f"{r.id:>5}  {r.target_type + ' ' + str(r.target_id):<14} {r.kind:<12} "
                f"{_size(r.size):>10}  {r.status:<8} {iso_or_none(r.created_date)}"
            )


@backup.command("run")
@_options
@click.option("--project", "project_id", type=int, default=None, help="Only this project, now")
@click.option("--kind", type=click.Choice(["annotations", "full"]), default="annotations")
def backup_run(
    data_dir: Path | None,
    database_url: str | None,
    storage_url: str | None,
    project_id: int | None,
    kind: str,
) -> None:
    """Run one scheduler pass (every due project), or back up one project now."""
    from labelvault.backups import periodic, rotation

    service = _service(data_dir, database_url, storage_url)
    try:
        if project_id is not None:
            record = periodic.backup_now(service, "project", project_id, kind)
            # A forced backup counts against rotation and the quota like a scheduled one.
            rotated = rotation.rotate(service)
            click.echo(
                f"Backup {record.id} written ({_size(record.size)}); deleted {len(rotated.delete)}."
            )
            if rotated.warning:
                click.echo(f"Warning: {rotated.warning}", err=True)
            return
        report = periodic.run_due(service)
    except _errors() as exc:
        _fail(str(exc))
    click.echo(
        f"Made {len(report.made)}, unchanged {report.unchanged}, failed {len(report.failed)}, "
        f"deleted {len(report.deleted)}."
    )
    for target_type, target_id, k, error in report.failed:
        click.echo(f"  failed: {target_type} {target_id} {k}: {error}", err=True)
    if report.warning:
        click.echo(f"Warning: {report.warning}", err=True)
    if report.failed:
        sys.exit(1)


@backup.command("restore")
@_options
@click.argument("backup_id", type=int)
@click.option("--replace", is_flag=True, help="Full backups: replace the project in place")
@click.option("--force", is_flag=True, help="Stop a server that uses the data dir first")
def backup_restore(
    data_dir: Path | None,
    database_url: str | None,
    storage_url: str | None,
    backup_id: int,
    replace: bool,
    force: bool,
) -> None:
    """Restore a backup: annotations back in place, or a full backup as a project."""
    from labelvault.backups import restore

    lock = claim_data_dir(_settings(data_dir, database_url).data_dir, force)
    service = _service(data_dir, database_url, storage_url)
    try:
        result = restore.restore(service, backup_id, None, mode="replace" if replace else "new")
    except _errors() as exc:
        _fail(str(exc))
    finally:
        lock.release()
    click.echo("Restored: " + ", ".join(f"{k}={v}" for k, v in result.items()))


@backup.command("rollback")
@_options
@click.option("--project", "project_id", type=int, required=True, help="The project to roll back")
@click.option("--to", "to", required=True, help="ISO time, e.g. 2026-03-02T09:15:00Z (UTC if bare)")
@click.option("--force", is_flag=True, help="Stop a server that uses the data dir first")
def backup_rollback(
    data_dir: Path | None,
    database_url: str | None,
    storage_url: str | None,
    project_id: int,
    to: str,
    force: bool,
) -> None:
    """Roll a project's annotations back to a time; a full backup of it is taken first."""
    from labelvault.backups import rollback

    when = _when(to)
    lock = claim_data_dir(_settings(data_dir, database_url).data_dir, force)
    service = _service(data_dir, database_url, storage_url)
    try:
        with click.progressbar(length=100, label="Rolling back", show_eta=False) as bar:
            done = [0]

            def progress(fraction: float, message: str) -> None:
                bar.label = message[:60]
                step = int(fraction * 100) - done[0]
                if step > 0:
                    bar.update(step)
                    done[0] += step

            result = rollback.rollback(service, project_id, when, progress=progress, offline=True)
    except _errors() as exc:
        _fail(str(exc))
    finally:
        service.db.dispose()
        lock.release()
    click.echo(result.message())


@backup.command("verify")
@_options
@click.argument("backup_ids", type=int, nargs=-1)
@click.option("--restore-test", is_flag=True, help="Also restore into a scratch database")
def backup_verify(
    data_dir: Path | None,
    database_url: str | None,
    storage_url: str | None,
    backup_ids: tuple[int, ...],
    restore_test: bool,
) -> None:
    """Read backups back and check their checksums (all when no id is given)."""
    from sqlalchemy import select

    from labelvault.backups import restore
    from labelvault.backups.models import BackupRecord

    service = _service(data_dir, database_url, storage_url)
    if not backup_ids:
        with service.db.session() as session:
            backup_ids = tuple(session.scalars(select(BackupRecord.id).order_by(BackupRecord.id)))
        if not backup_ids:
            # Silence would read as "all verified".
            click.echo(
                "Nothing to verify: this instance has no periodic backups yet (the "
                "server's scheduler makes them; `labelvault backup list` shows them)."
            )
            return
    failed = 0
    for backup_id in backup_ids:
        try:
            result = restore.verify(service, backup_id, restore_test=restore_test)
            click.echo(f"{backup_id}: ok {result.get('restore_test', '')}")
        except _errors() as exc:
            failed += 1
            click.echo(f"{backup_id}: FAILED {exc}", err=True)
    if failed:
        sys.exit(1)


# ---- instance ----------------------------------------------------------------------------


@click.group()
def instance() -> None:
    """The instance as a whole."""


@instance.command("delete")
@_options
@click.option("--yes", is_flag=True, help="Do not ask for confirmation")
@click.option("--no-snapshot", is_flag=True, help="Delete without a final snapshot")
@click.option(
    "--force", is_flag=True, help="Stop a server that uses the data dir (it snapshots) first"
)
def instance_delete(
    data_dir: Path | None,
    database_url: str | None,
    storage_url: str | None,
    yes: bool,
    no_snapshot: bool,
    force: bool,
) -> None:
    """Write a snapshot, then remove the local data (data dir and database tables)."""
    from sqlalchemy import MetaData

    from labelvault.backups import instance as instance_snapshots
    from labelvault.backups import serverlock

    settings = _settings(data_dir, database_url)
    running = serverlock.holder(settings.data_dir)
    if running is not None and not force:
        _fail(str(serverlock.DataDirInUse(running)))
    if not yes:
        click.confirm(f"Delete the instance in {settings.data_dir.resolve()}?", abort=True)
    # Held until the data dir is gone, so no server starts on it meanwhile.
    claim_data_dir(settings.data_dir, force)
    service = _service(data_dir, database_url, storage_url)
    if not no_snapshot:
        try:
            info = instance_snapshots.snapshot(service, "delete")
        except _errors() as exc:
            _fail(f"{exc}\nNothing was deleted.")
        click.echo(f"Snapshot {info.name} written; deleting the local data.")
    metadata = MetaData()
    metadata.reflect(service.db.engine)
    metadata.drop_all(service.db.engine)
    service.db.dispose()
    shutil.rmtree(service.settings.data_dir, ignore_errors=True)
    click.echo("Instance deleted.")
