"""Periodic project backups: due targets, make + verify + catalog, rotate, restore, status."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.backups import cvat_backup, schedule, snapshots
from labelvault.backups.config import KINDS, BackupConfig
from labelvault.backups.models import BackupRecord, BackupStatus
from labelvault.backups.paths import instance_root
from labelvault.backups.rotation import Item, plan
from labelvault.config import Settings
from labelvault.datasets import backup as cvat_format
from labelvault.db import Database
from labelvault.projects import service as project_service
from labelvault.projects.models import Label, Project
from labelvault.storage import Storage, StorageError, StorageNotFoundError
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Job, Task

log = logging.getLogger("labelvault.backups")

PERIODIC_DIR = "backups-periodic"
PAGE = 500
Clock = Callable[[], datetime]


class BackupError(Exception):
    """A backup or restore cannot be done; the message says why and what to do."""


class BackupIntegrityError(BackupError):
    """A stored backup does not match its recorded checksum; it is never restored."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Target:
    type: str  # "project" | "task"
    id: int
    name: str
    owner_id: int | None
    fingerprint: str


@dataclass
class RunReport:
    """What one scheduler pass did."""

    made: list[tuple[str, int, str]] = field(default_factory=list)
    unchanged: int = 0
    failed: list[tuple[str, int, str, str]] = field(default_factory=list)
    deleted: list[int] = field(default_factory=list)
    warning: str = ""
    snapshot: str | None = None


def _hash(parts: list[Any]) -> str:
    return hashlib.sha256(orjson.dumps(parts, default=str)).hexdigest()


class BackupService:
    """Backups of one instance into one storage; `clock` is injectable for tests."""

    def __init__(
        self,
        settings: Settings,
        db: Database,
        *,
        config: BackupConfig | None = None,
        storage: Storage | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.settings = settings
        self.db = db
        self.config = config or BackupConfig.from_settings(settings)
        self._storage = storage
        self.clock = clock

    # -- storage -----------------------------------------------------------------------------

    @property
    def storage(self) -> Storage:
        if self._storage is None:
            self._storage = Storage.from_url(self.config.storage_url)
        return self._storage

    @property
    def periodic(self) -> Storage:
        return self.storage.sub(PERIODIC_DIR)

    def startup(self, temp_age: timedelta = timedelta(0)) -> dict[str, Any]:
        """At start: check the storage, clean what a killed run left, reconcile the catalog."""
        self.storage.check()
        local = snapshots.cleanup_local(self.settings)
        remote = []
        for prefix in (snapshots.SNAPSHOT_DIR, PERIODIC_DIR, instance_root(self.settings)):
            # Server mtimes are wall-clock time, so the injected clock has no say here.
            remote += self.storage.cleanup_temporaries(temp_age, prefix)
        reconciled = self.reconcile()
        return {"local": local, "remote": remote, **reconciled}

    # -- targets and fingerprints --------------------------------------------------------------

    def iter_targets(self, session: Session) -> Iterator[Target]:
        """Every project and every task outside a project, page by page (all pages)."""
        last = 0
        while True:
            projects = list(
                session.scalars(
                    select(Project).where(Project.id > last).order_by(Project.id).limit(PAGE)
                )
            )
            if not projects:
                break
            yield from self._project_targets(session, projects)
            last = projects[-1].id
        last = 0
        while True:
            tasks = list(
                session.scalars(
                    select(Task)
                    .where(Task.project_id.is_(None), Task.id > last)
                    .order_by(Task.id)
                    .limit(PAGE)
                )
            )
            if not tasks:
                break
            yield from self._task_targets(session, tasks)
            last = tasks[-1].id

    def _job_rows(self, session: Session, task_ids: list[int]) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {}
        if task_ids:
            rows = session.execute(
                select(
                    Job.task_id,
                    Job.id,
                    Job.updated_date,
                    Job.annotation_version,
                    Job.stage,
                    Job.state,
                    Job.assignee_id,
                )
                .where(Job.task_id.in_(task_ids))
                .order_by(Job.id)
            )
            for row in rows:
                out.setdefault(row[0], []).append(list(row[1:]))
        return out

    def _label_rows(self, session: Session, column: Any, ids: list[int]) -> dict[int, list[Any]]:
        out: dict[int, list[Any]] = {}
        rows = session.execute(
            select(column, Label.id, Label.name, Label.color, Label.type, Label.svg)
            .where(column.in_(ids))
            .order_by(Label.id)
        )
        for row in rows:
            out.setdefault(row[0], []).append(list(row[1:]))
        return out

    def _task_state(self, task: Task, jobs: dict[int, list[Any]]) -> list[Any]:
        return [
            task.id,
            task.name,
            task.updated_date,
            task.size,
            task.data_state,
            jobs.get(task.id, []),
        ]

    def _project_targets(self, session: Session, projects: list[Project]) -> Iterator[Target]:
        ids = [p.id for p in projects]
        tasks = list(
            session.scalars(select(Task).where(Task.project_id.in_(ids)).order_by(Task.id))
        )
        jobs = self._job_rows(session, [t.id for t in tasks])
        labels = self._label_rows(session, Label.project_id, ids)
        by_project: dict[int, list[Task]] = {}
        for task in tasks:
            by_project.setdefault(task.project_id, []).append(task)  # type: ignore[arg-type]
        for p in projects:
            state = [p.name, p.updated_date, labels.get(p.id, [])]
            state += [self._task_state(t, jobs) for t in by_project.get(p.id, [])]
            yield Target("project", p.id, p.name, p.owner_id, _hash(state))

    def _task_targets(self, session: Session, tasks: list[Task]) -> Iterator[Target]:
        jobs = self._job_rows(session, [t.id for t in tasks])
        labels = self._label_rows(session, Label.task_id, [t.id for t in tasks])
        for t in tasks:
            state = [self._task_state(t, jobs), labels.get(t.id, [])]
            yield Target("task", t.id, t.name, t.owner_id, _hash(state))

    def target(self, session: Session, target_type: str, target_id: int) -> Target:
        if target_type == "project":
            project = session.get(Project, target_id)
            if project is None:
                raise BackupError(f"project {target_id} does not exist")
            return next(self._project_targets(session, [project]))
        task = session.get(Task, target_id)
        if task is None or task.project_id is not None:
            raise BackupError(f"task {target_id} does not exist outside a project")
        return next(self._task_targets(session, [task]))

    # -- status --------------------------------------------------------------------------------

    @staticmethod
    def _status(session: Session, target_type: str, target_id: int, kind: str) -> BackupStatus:
        row = session.get(BackupStatus, (target_type, target_id, kind))
        if row is None:
            row = BackupStatus(
                target_type=target_type,
                target_id=target_id,
                kind=kind,
                target_name="",
                last_error="",
                failures=0,
                last_fingerprint="",
                warning="",
            )
            session.add(row)
        return row

    def status_row(self, target_type: str, target_id: int, kind: str) -> BackupStatus | None:
        """The schedule state of one target and kind, detached from any session."""
        with self.db.session() as session:
            row = session.get(BackupStatus, (target_type, target_id, kind))
            if row is not None:
                session.expunge(row)
            return row

    # -- one backup ----------------------------------------------------------------------------

    def _path(self, target: Target, kind: str, created: datetime) -> str:
        stamp = created.strftime("%Y%m%dT%H%M%S")
        return (
            f"{target.type}-{target.id}/{kind}/"
            f"{target.type}_{target.id}_{kind}_{stamp}_{uuid.uuid4().hex[:6]}.zip"
        )

    def backup_now(
        self, target_type: str, target_id: int, kind: str, *, reason: str = "manual"
    ) -> BackupRecord:
        """Make, upload, verify and catalog one backup; the status records success or failure."""
        if kind not in KINDS:
            raise BackupError(f"unknown backup kind {kind!r}: use 'annotations' or 'full'")
        with self.db.session() as session:
            target = self.target(session, target_type, target_id)
        try:
            return self._backup(target, kind, reason)
        except Exception as exc:
            self._record_failure(target, kind, exc)
            raise

    def _backup(self, target: Target, kind: str, reason: str) -> BackupRecord:
        now = self.clock()
        work = snapshots.local_tmp(self.settings) / f"backup-{uuid.uuid4().hex}"
        work.mkdir(parents=True)
        try:
            local = work / "backup.zip"
            with self.db.session() as session, local.open("w+b") as out:
                # The fingerprint is taken in the same session as the data it describes.
                target = self.target(session, target.type, target.id)
                cvat_backup.make_backup(
                    session, target.type, target.id, out, kind, settings=self.settings
                )
            path = self._path(target, kind, now)
            result = self.periodic.write_atomic(
                path, self._chunks_of(local), size=local.stat().st_size
            )
            # Read back what is now listed, not just the temporary write_atomic checked.
            stored = self.periodic.digest(path)
            if stored != (result.size, result.sha256):
                raise BackupIntegrityError(f"{path} changed after upload; it will be made again")
            meta = {
                "target_type": target.type,
                "target_id": target.id,
                "target_name": target.name,
                "owner_id": target.owner_id,
                "kind": kind,
                "reason": reason,
                "size": result.size,
                "sha256": result.sha256,
                "fingerprint": target.fingerprint,
                "created": now.isoformat(),
            }
            self.periodic.write_bytes(path[: -len(".zip")] + ".json", orjson.dumps(meta))
        finally:
            shutil.rmtree(work, ignore_errors=True)
        with self.db.session() as session:
            record = BackupRecord(
                target_type=target.type,
                target_id=target.id,
                target_name=target.name,
                owner_id=self._existing_user(session, target.owner_id),
                kind=kind,
                reason=reason,
                path=path,
                size=result.size,
                sha256=result.sha256,
                fingerprint=target.fingerprint,
                created_date=now,
                status="good",
            )
            session.add(record)
            if reason != "safety":
                status = self._status(session, target.type, target.id, kind)
                status.target_name = target.name
                status.last_attempt = now
                status.last_success = now
                status.last_size = result.size
                status.last_fingerprint = target.fingerprint
                status.failures = 0
                status.last_error = ""
                status.next_due = schedule.next_after_success(
                    now, self.config.tiers[kind], result.size
                )
            session.flush()
        log.info("backup %s of %s %d: %d bytes", kind, target.type, target.id, result.size)
        return record

    @staticmethod
    def _chunks_of(local: Path) -> Iterator[bytes]:
        """The local archive in upload-sized chunks (a seam for fault-injection tests)."""
        with local.open("rb") as f:
            while chunk := f.read(1024 * 1024):
                yield chunk

    @staticmethod
    def _existing_user(session: Session, user_id: int | None) -> int | None:
        return user_id if user_id is not None and session.get(User, user_id) else None

    def _record_failure(self, target: Target, kind: str, exc: BaseException) -> None:
        now = self.clock()
        message = str(exc) or type(exc).__name__
        with self.db.session() as session:
            status = self._status(session, target.type, target.id, kind)
            status.target_name = target.name
            status.last_attempt = now
            status.last_failure = now
            status.failures = (status.failures or 0) + 1
            status.last_error = message[:2000]
            status.next_due = schedule.next_after_failure(
                now, status.failures, self.config.retry_base, self.config.retry_max
            )
        log.warning("backup %s of %s %d failed: %s", kind, target.type, target.id, message)

    # -- the scheduler pass --------------------------------------------------------------------

    def run_due(self) -> RunReport:
        """Back up every due, changed target; one failure never stops the others."""
        report = RunReport()
        now = self.clock()
        with self.db.session() as session:
            statuses = {
                (s.target_type, s.target_id, s.kind): s
                for s in session.scalars(
                    select(BackupStatus).where(BackupStatus.target_type != "instance")
                )
            }
            session.expunge_all()
        due: list[tuple[Target, str]] = []
        with self.db.session() as session:
            for target in self.iter_targets(session):
                for kind in self.config.kinds:
                    status = statuses.get((target.type, target.id, kind))
                    if status is not None and not schedule.is_due(status.next_due, now):
                        continue
                    if (
                        status is not None
                        and status.last_success is not None
                        and status.failures == 0
                        and status.last_fingerprint == target.fingerprint
                    ):
                        # Unchanged since its last good backup: nothing new to keep.
                        row = self._status(session, target.type, target.id, kind)
                        row.next_due = schedule.next_after_success(
                            now, self.config.tiers[kind], row.last_size
                        )
                        report.unchanged += 1
                        continue
                    due.append((target, kind))
        for target, kind in due:
            try:
                self._backup(target, kind, "scheduled")
                report.made.append((target.type, target.id, kind))
            except Exception as exc:  # noqa: BLE001 - isolate each target
                self._record_failure(target, kind, exc)
                report.failed.append((target.type, target.id, kind, str(exc)))
        rotated = self.rotate()
        report.deleted, report.warning = rotated.delete, rotated.warning
        return report

    # -- rotation and quota --------------------------------------------------------------------

    def rotate(self) -> Any:
        with self.db.session() as session:
            records = list(session.scalars(select(BackupRecord)))
            items = [
                Item(
                    r.id,
                    (r.target_type, r.target_id, r.kind),
                    schedule.aware(r.created_date),
                    r.size,
                    r.status == "good",
                )
                for r in records
            ]
            result = plan(items, self.config)
            by_id = {r.id: r for r in records}
            for record_id in result.delete:
                record = by_id[record_id]
                try:
                    self._delete_files(record.path)
                except StorageError as exc:
                    log.warning("could not delete backup %s: %s", record.path, exc)
                    continue
                session.delete(record)
            # The quota warning goes on every status row so the API and UI show it.
            for status in session.scalars(select(BackupStatus)):
                status.warning = result.warning
            if result.warning:
                log.warning("%s", result.warning)
        return result

    def _delete_files(self, path: str) -> None:
        for name in (path, path[: -len(".zip")] + ".json"):
            with contextlib.suppress(StorageNotFoundError):
                self.periodic.delete(name)

    # -- catalog -------------------------------------------------------------------------------

    def reconcile(self) -> dict[str, int]:
        """Make the catalog match the storage: drop records of missing files, adopt backups
        whose upload finished but whose record a crash never wrote."""
        try:
            entries = list(self.periodic.walk())
        except StorageNotFoundError:
            entries = []
        files = {e.path: e for e in entries}
        adopted = dropped = 0
        with self.db.session() as session:
            known = {r.path: r for r in session.scalars(select(BackupRecord))}
            for path, record in known.items():
                if path not in files:
                    session.delete(record)
                    dropped += 1
            for path in files:
                if not path.endswith(".zip") or path in known:
                    continue
                sidecar = path[: -len(".zip")] + ".json"
                if sidecar not in files:
                    continue  # a sidecar is written last: without it the backup is unverified
                meta = orjson.loads(self.periodic.read_bytes(sidecar))
                session.add(
                    BackupRecord(
                        target_type=meta["target_type"],
                        target_id=meta["target_id"],
                        target_name=meta.get("target_name", ""),
                        owner_id=self._existing_user(session, meta.get("owner_id")),
                        kind=meta["kind"],
                        reason=meta.get("reason", "scheduled"),
                        path=path,
                        size=meta["size"],
                        sha256=meta["sha256"],
                        fingerprint=meta.get("fingerprint", ""),
                        created_date=datetime.fromisoformat(meta["created"]),
                        status="good",
                    )
                )
                adopted += 1
        return {"adopted": adopted, "dropped": dropped}

    # -- reading, verifying, restoring ---------------------------------------------------------

    def fetch_verified(self, record: BackupRecord, target: Path) -> None:
        """Download a backup to `target`; a checksum mismatch marks it corrupt and raises."""
        digest = hashlib.sha256()
        size = 0
        with target.open("wb") as out:
            for chunk in self.periodic.iter_bytes(record.path):
                digest.update(chunk)
                size += len(chunk)
                out.write(chunk)
        if (size, digest.hexdigest()) != (record.size, record.sha256):
            with self.db.session() as session:
                row = session.get(BackupRecord, record.id)
                if row is not None:
                    row.status = "corrupt"
            raise BackupIntegrityError(
                f"backup {record.id} ({record.path}) is corrupted: checksum mismatch (catalog: "
                f"{record.size} bytes, sha256 {record.sha256}; storage: {size} bytes, sha256 "
                f"{digest.hexdigest()}); it was not restored"
            )

    def get(self, record_id: int) -> BackupRecord:
        with self.db.session() as session:
            record = session.get(BackupRecord, record_id)
            if record is None:
                raise BackupError(f"backup {record_id} does not exist")
            return record

    def verify(self, record_id: int, *, restore_test: bool = False) -> dict[str, Any]:
        """Read a backup back and check its checksum; optionally restore it into a scratch
        SQLite database to prove it restores."""
        record = self.get(record_id)
        work = snapshots.local_tmp(self.settings) / f"verify-{uuid.uuid4().hex}"
        work.mkdir(parents=True)
        try:
            local = work / "backup.zip"
            self.fetch_verified(record, local)
            result: dict[str, Any] = {"id": record.id, "checksum": "ok"}
            if restore_test:
                result["restore_test"] = self._restore_test(record, local, work)
            return result
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _restore_test(self, record: BackupRecord, archive: Path, work: Path) -> dict[str, int]:
        from labelvault.db.migrate import upgrade

        scratch_settings = Settings(data_dir=work / "scratch")
        scratch_settings.ensure_dirs()
        scratch = Database(scratch_settings.resolved_database_url)
        try:
            upgrade(scratch.engine)
            with scratch.session() as session:
                user = User(username="restore-test", role="admin")
                session.add(user)
                session.flush()
                user_id = user.id
            if record.kind == "full":
                with cvat_backup.format_errors():
                    if record.target_type == "project":
                        cvat_format.restore_project(scratch, scratch_settings, archive, user_id)
                    else:
                        cvat_format.restore_task(scratch, scratch_settings, archive, user_id)
                with scratch.session() as session:
                    tasks = session.scalar(select(func.count()).select_from(Task)) or 0
            else:
                tasks = len(cvat_backup.read_ids(archive)["tasks"])
            with scratch.session() as session:
                jobs = session.scalar(select(func.count()).select_from(Job)) or 0
            return {"tasks": tasks, "jobs": jobs}
        finally:
            scratch.dispose()

    def restore(self, record_id: int, user_id: int | None, *, mode: str = "new") -> dict[str, Any]:
        """Restore one backup in one action.

        full + "new": a new project (or task) from the backup; full + "replace": a safety
        backup of the current project, then its tasks and labels are replaced by the
        backup's; annotations: that moment's annotations go back into the same tasks and jobs.
        """
        record = self.get(record_id)
        if record.status != "good":
            raise BackupIntegrityError(f"backup {record_id} is marked corrupt; it is not restored")
        work = snapshots.local_tmp(self.settings) / f"restore-{uuid.uuid4().hex}"
        work.mkdir(parents=True)
        try:
            local = work / "backup.zip"
            self.fetch_verified(record, local)
            if record.kind == "annotations":
                with self.db.session() as session:
                    counts = cvat_backup.restore_annotations_in_place(session, local)
                return {"kind": "annotations", **counts}
            if record.target_type != "project":
                if mode == "replace":
                    raise BackupError(
                        "a task cannot be replaced from its full backup; restore it as a new task"
                    )
                with cvat_backup.format_errors():
                    task_id = cvat_format.restore_task(
                        self.db,
                        self.settings,
                        local,
                        user_id,  # type: ignore[arg-type]
                    )
                return {"kind": "full", "task_id": task_id, "mode": "new"}
            if mode == "replace":
                return self._restore_replace(record, local, user_id)
            with cvat_backup.format_errors():
                project_id = cvat_format.restore_project(
                    self.db,
                    self.settings,
                    local,
                    user_id,  # type: ignore[arg-type]
                )
            return {"kind": "full", "project_id": project_id, "mode": "new"}
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _restore_replace(
        self, record: BackupRecord, local: Path, user_id: int | None
    ) -> dict[str, Any]:
        """Restore as a new project, then in one transaction swap its tasks and labels in
        for the current project's: a failure at any point leaves the project as it was."""
        with self.db.session() as session:
            current = session.get(Project, record.target_id)
            owner_id = current.owner_id if current is not None else None
        if current is None:
            raise BackupError(
                f"project {record.target_id} no longer exists; restore the backup as a new project"
            )
        safety = self._backup(self._target_of(record.target_id), "full", "safety")
        with cvat_backup.format_errors():
            restored_id = cvat_format.restore_project(
                self.db,
                self.settings,
                local,
                owner_id or user_id,  # type: ignore[arg-type]
            )
        old_dirs: list[Path] = []
        try:
            with self.db.session() as session:
                project = session.get(Project, record.target_id)
                if project is None:
                    raise BackupError(f"project {record.target_id} was deleted during the restore")
                for task in session.scalars(select(Task).where(Task.project_id == project.id)):
                    old_dirs.append(task_service.task_media_dir(self.settings, task.id))
                    session.delete(task)
                for label in session.scalars(
                    select(Label).where(Label.project_id == project.id, Label.parent_id.is_(None))
                ):
                    session.delete(label)
                session.flush()
                name, bug_tracker = session.execute(
                    select(Project.name, Project.bug_tracker).where(Project.id == restored_id)
                ).one()
                for model in (Label, Task):
                    session.execute(
                        update(model)
                        .where(model.project_id == restored_id)
                        .values(project_id=project.id)
                    )
                session.execute(delete(Project).where(Project.id == restored_id))
                project.name, project.bug_tracker = name, bug_tracker
                project_service.touch(project)
        except BaseException:
            cvat_format.discard_project(self.db, self.settings, restored_id)
            raise
        # Old media go only once the new state is committed.
        for d in old_dirs:
            shutil.rmtree(d, ignore_errors=True)
        return {
            "kind": "full",
            "project_id": record.target_id,
            "mode": "replace",
            "safety_backup_id": safety.id,
        }

    def _target_of(self, project_id: int) -> Target:
        with self.db.session() as session:
            return self.target(session, "project", project_id)

    def delete(self, record_id: int) -> None:
        record = self.get(record_id)
        self._delete_files(record.path)
        with self.db.session() as session:
            row = session.get(BackupRecord, record_id)
            if row is not None:
                session.delete(row)

    # -- snapshots on a schedule ---------------------------------------------------------------

    def instance_fingerprint(self, session: Session) -> str:
        parts = []
        for model, date_col in (
            (Project, Project.updated_date),
            (Task, Task.updated_date),
            (Job, Job.updated_date),
        ):
            parts.append(
                list(
                    session.execute(
                        select(func.count(), func.max(date_col)).select_from(model)
                    ).one()
                )
            )
        parts.append(session.scalar(select(func.coalesce(func.sum(Job.annotation_version), 0))))
        parts.append(list(session.execute(select(func.count(), func.max(User.id))).one()))
        return _hash(parts)

    def snapshot_if_due(self, *, force: bool = False) -> snapshots.SnapshotInfo | None:
        """A scheduled snapshot when the interval has passed and anything changed."""
        now = self.clock()
        with self.db.session() as session:
            status = self._status(session, "instance", 0, "snapshot")
            fingerprint = self.instance_fingerprint(session)
            # An unchanged instance keeps its past due time, so the first change after it is
            # saved at the next tick: a crash loses at most one interval of work.
            due = force or schedule.is_due(status.next_due, now)
            changed = status.last_fingerprint != fingerprint
        if not (due and changed):
            return None
        return self.snapshot("scheduled", fingerprint=fingerprint)

    def snapshot(self, reason: str, fingerprint: str | None = None) -> snapshots.SnapshotInfo:
        now = self.clock()
        with self.db.session() as session:
            fingerprint = fingerprint or self.instance_fingerprint(session)
        try:
            info = snapshots.create_snapshot(
                self.settings, self.db, self.storage, reason=reason, now=now
            )
        except Exception as exc:
            with self.db.session() as session:
                status = self._status(session, "instance", 0, "snapshot")
                status.last_attempt = status.last_failure = now
                status.failures = (status.failures or 0) + 1
                status.last_error = str(exc)[:2000]
                status.next_due = schedule.next_after_failure(
                    now, status.failures, self.config.retry_base, self.config.retry_max
                )
            raise
        with self.db.session() as session:
            status = self._status(session, "instance", 0, "snapshot")
            status.target_name = "instance"
            status.last_attempt = status.last_success = now
            status.last_size = info.size
            status.last_fingerprint = fingerprint
            status.failures = 0
            status.last_error = ""
            status.next_due = now + self.config.snapshot_interval
        snapshots.prune_snapshots(
            self.storage, self.config.snapshot_keep, instance_root(self.settings)
        )
        return info

    def tick(self) -> RunReport:
        """One pass of the scheduler: due project backups, then a snapshot if due."""
        report = self.run_due()
        try:
            info = self.snapshot_if_due()
            report.snapshot = info.name if info else None
        except Exception as exc:  # noqa: BLE001 - recorded on the status row
            log.warning("scheduled snapshot failed: %s", exc)
        return report


def status_json(session: Session, config: BackupConfig, filter_ids: set[int] | None = None) -> dict:
    """Per-target status for /api/backups/status; `filter_ids` limits it to some projects."""
    rows = list(
        session.scalars(
            select(BackupStatus).order_by(
                BackupStatus.target_type, BackupStatus.target_id, BackupStatus.kind
            )
        )
    )
    used = session.scalar(select(func.coalesce(func.sum(BackupRecord.size), 0))) or 0
    out = []
    warning = ""
    for row in rows:
        warning = warning or row.warning
        if row.target_type == "instance" and filter_ids is not None:
            continue
        if filter_ids is not None and not (
            row.target_type == "project" and row.target_id in filter_ids
        ):
            continue
        out.append(
            {
                "target_type": row.target_type,
                "target_id": row.target_id,
                "project_id": row.target_id if row.target_type == "project" else None,
                "name": row.target_name,
                "kind": row.kind,
                "last_success": _iso(row.last_success),
                "last_failure": _iso(row.last_failure),
                "last_error": row.last_error or None,
                "failures": row.failures,
                "next_due": _iso(row.next_due),
                "last_size": row.last_size,
            }
        )
    return {
        "quota": config.quota,
        "used": int(used),
        "warning": warning or None,
        "results": out,
    }


def _iso(value: datetime | None) -> str | None:
    return schedule.aware(value).isoformat() if value else None


def record_json(record: BackupRecord) -> dict[str, Any]:
    return {
        "id": record.id,
        "target_type": record.target_type,
        "target_id": record.target_id,
        "project_id": record.target_id if record.target_type == "project" else None,
        "task_id": record.target_id if record.target_type == "task" else None,
        "name": record.target_name,
        "kind": record.kind,
        "reason": record.reason,
        "path": f"{PERIODIC_DIR}/{record.path}",
        "size": record.size,
        "sha256": record.sha256,
        "status": record.status,
        "created_date": _iso(record.created_date),
        "owner_id": record.owner_id,
    }


class Scheduler:
    """A daemon thread that runs `BackupService.tick` every `config.tick` in the server.

    One pass at a time; a pass that raises is logged and the next one runs as usual.
    """

    def __init__(self, service: BackupService) -> None:
        self.service = service
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="backup-scheduler", daemon=True)
            self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.service.config.tick.total_seconds()):
            try:
                self.service.tick()
            except Exception:  # noqa: BLE001 - the scheduler must outlive any one pass
                log.exception("backup scheduler pass failed")

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None


def on_startup(app: Any) -> None:
    """Lifespan start: check the storage (a clear error on bad credentials), clean what a
    killed run left, reconcile the catalog and start the scheduler."""
    service = BackupService(app.state.settings, app.state.db)
    app.state.backup_service = service
    cleaned = service.startup(temp_age=timedelta(0))
    if cleaned["remote"] or cleaned["local"]:
        log.warning(
            "removed %d upload temporaries and %d local leftovers of interrupted backups",
            len(cleaned["remote"]),
            len(cleaned["local"]),
        )
    if service.config.enabled:
        app.state.backup_scheduler = Scheduler(service)
        app.state.backup_scheduler.start()


def on_shutdown(app: Any, *, snapshot: bool | None = None) -> None:
    """Lifespan end (after the queue stopped): stop the scheduler, then snapshot on exit."""
    scheduler = getattr(app.state, "backup_scheduler", None)
    if scheduler is not None:
        scheduler.stop()
    service: BackupService | None = getattr(app.state, "backup_service", None)
    if service is None:
        return
    wanted = service.config.snapshot_on_exit if snapshot is None else snapshot
    if wanted:
        try:
            info = service.snapshot("shutdown")
            log.info("snapshot %s written on shutdown", info.name)
        except Exception:  # noqa: BLE001 - a failed snapshot must not hide the shutdown
            log.exception("the snapshot on shutdown failed")
