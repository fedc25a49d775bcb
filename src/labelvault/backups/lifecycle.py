"""Backups across the server's life: checks and cleanup at start, scheduler, snapshot on exit."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from labelvault.backups import catalog, instance, paths, snapshots
from labelvault.backups.config import BackupConfig
from labelvault.backups.context import BackupContext
from labelvault.backups.journal import Journal
from labelvault.backups.scheduler import Scheduler
from labelvault.backups.snapshot_policy import SnapshotWatcher
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.storage import Storage, StorageConfigError

log = logging.getLogger("labelvault.backups")

SHARED_TEMP_AGE = timedelta(hours=6)


@dataclass
class BackupRuntime:
    """What the server keeps of its backups between start and shutdown (app.py stores it)."""

    settings: Settings
    db: Database
    queue: Any
    scheduler: Scheduler | None = None
    journal: Journal | None = None
    watcher: SnapshotWatcher | None = None
    _context: BackupContext | None = None

    @property
    def context(self) -> BackupContext:
        """Built on first use, so the storage settings are read when backups are first needed."""
        if self._context is None:
            self._context = BackupContext(self.settings, self.db)
        return self._context


def startup(ctx: BackupContext, temp_age: timedelta = timedelta(0)) -> dict[str, Any]:
    """At start: check the storage, clean what a killed run left, reconcile the catalog."""
    ctx.storage.check()
    local = snapshots.cleanup_local(ctx.settings)
    # Server mtimes are wall-clock time, so the injected clock has no say here. Everything
    # under this instance's name is its own: what a killed run of it left goes at once.
    remote = ctx.storage.cleanup_temporaries(temp_age, paths.instance_root(ctx.settings))
    if not snapshots.SNAPSHOT_DIR.startswith(paths.instance_root(ctx.settings) + "/"):
        # A folder at the storage root may be shared with other instances: only leftovers
        # old enough that no upload of theirs can still be running there go.
        remote += ctx.storage.cleanup_temporaries(
            max(temp_age, SHARED_TEMP_AGE), snapshots.SNAPSHOT_DIR
        )
    reconciled = catalog.reconcile(ctx)
    return {"local": local, "remote": remote, **reconciled}


def require_storage(settings: Settings) -> None:
    """`storage_required`: a platform wants backups off this machine, so no default folder."""
    if settings.storage_required and not settings.storage_url:
        raise StorageConfigError(
            "LABELVAULT_STORAGE_REQUIRED is set but no storage URL is given: set "
            "LABELVAULT_STORAGE_URL (or --storage-url) to a storage off this machine, e.g. "
            "webdav+https://host/remote.php/dav/files/USER or s3://bucket/prefix"
        )


def storage_report(
    settings: Settings, storage: Storage, instance: str | None = None
) -> dict[str, Any]:
    """Where the backups go, for the start banner and /api/backups/status (no credentials)."""
    return {
        "storage": storage.redacted_url,
        "same_disk_as_data": storage.kind == "local"
        and _device(Path(storage.location.root)) == _device(Path(settings.data_dir)),
        "instance": instance or paths.instance_root(settings),
    }


def _device(path: Path) -> int | None:
    """The device of `path`, or of its nearest existing parent (the storage may not exist yet)."""
    for candidate in (path.resolve(), *path.resolve().parents):
        with contextlib.suppress(OSError):
            return candidate.stat().st_dev
    return None


def check_at_start(settings: Settings) -> dict[str, Any]:
    """What `serve` checks before it listens: the storage is required, reachable, writable.

    Raises a LabelVaultError whose message says what to fix; returns `storage_report`.
    """
    require_storage(settings)
    storage = Storage.from_url(BackupConfig.from_settings(settings).storage_url)
    storage.check()
    # Before a first start or a restore (which adopts the restored name) it has none yet.
    return storage_report(settings, storage, settings.known_instance_name or "(new)")


def on_startup(settings: Settings, db: Database, queue: Any) -> BackupRuntime:
    """Lifespan start: check the storage (a clear error on bad credentials), clean what a
    killed run left, reconcile the catalog and start the scheduler."""
    runtime = BackupRuntime(settings, db, queue)
    if not settings.backups:
        return runtime
    require_storage(settings)
    ctx = runtime.context
    cleaned = startup(ctx, temp_age=timedelta(0))
    report = storage_report(settings, ctx.storage)
    if report["same_disk_as_data"]:
        log.warning(
            "backups of instance %s go to %s, on the same disk as the data: a lost disk "
            "loses both; set LABELVAULT_STORAGE_URL to a storage elsewhere",
            report["instance"],
            report["storage"],
        )
    # The CLI on this data dir then uses the same storage when given none.
    paths.remember_storage_url(settings, ctx.config.storage_url)
    if cleaned["remote"] or cleaned["local"]:
        log.warning(
            "removed %d upload temporaries and %d local leftovers of interrupted backups",
            len(cleaned["remote"]),
            len(cleaned["local"]),
        )
    # Annotation saves reach the storage within seconds; anything else within a minute
    # through the snapshot watcher.
    runtime.journal = Journal(settings, ctx.storage).start()
    if ctx.config.enabled:
        runtime.watcher = SnapshotWatcher(ctx).start()
        if runs_queue_here(settings):
            runtime.scheduler = Scheduler(ctx)
            runtime.scheduler.start()
    return runtime


def runs_queue_here(settings: Settings) -> bool:
    """Whether this server works its own queue (embedded or immediate); with a shared queue
    the `labelvault worker` processes do, and they run the periodic work too."""
    return settings.queue_url in ("embedded", "immediate")


def start_worker_scheduler(settings: Settings, db: Database) -> Scheduler | None:
    """The periodic work of a `labelvault worker`: the same scheduler as an embedded server.

    Any number of workers may run it; each due backup is claimed in the database first
    (status.claim), so it is made once.
    """
    if not settings.backups:
        return None
    ctx = BackupContext(settings, db)
    if not ctx.config.enabled:
        return None
    scheduler = Scheduler(ctx)
    scheduler.start()
    return scheduler


def on_shutdown(runtime: BackupRuntime, *, snapshot: bool | None = None) -> None:
    """Lifespan end (after the queue stopped): stop the scheduler, then snapshot on exit."""
    if runtime.watcher is not None:
        runtime.watcher.stop()
        runtime.watcher = None
    if runtime.scheduler is not None:
        runtime.scheduler.stop()
        runtime.scheduler = None
    if runtime.journal is not None:
        # Ships what is left, so the snapshot on exit and the journal agree.
        runtime.journal.stop()
        runtime.journal = None
    if not runtime.settings.backups:
        return
    ctx = runtime.context
    wanted = ctx.config.snapshot_on_exit if snapshot is None else snapshot
    if wanted:
        try:
            info = instance.snapshot(ctx, "shutdown")
            # The operator pressed Ctrl-C and waits for this line: name, size and where.
            log.warning(
                "snapshot %s written on shutdown (%.1f MB) to %s/%s",
                info.name,
                info.size / 1e6,
                ctx.storage.redacted_url.rstrip("/"),
                info.path,
            )
        except Exception:  # noqa: BLE001 - a failed snapshot must not hide the shutdown
            log.exception(
                "the snapshot on shutdown FAILED (the data dir is intact; the next start "
                "or `labelvault snapshot create` writes one)"
            )
