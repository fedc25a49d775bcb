"""The archives of periodic backups: CVAT v1.0 backups ("full") and annotation-only ones.

A full backup is the CVAT v1.0 project (or task) backup that labelvault.datasets.backup
writes and restores, so it restores here and in CVAT. An annotation-only backup is the same
without the images, plus annotations.xml in "CVAT for images 1.1" (which CVAT imports into a
project that has the images). Both carry labelvault.json, the ids of the tasks and jobs they
came from, which lets `restore_annotations_in_place` put annotations back where they were.
"""

from __future__ import annotations

import io
import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from pathlib import Path
from typing import IO, Any, BinaryIO, cast

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.annotations import service as annotation_service
from labelvault.cloudstorages.registry import CloudStorages
from labelvault.config import Settings
from labelvault.datasets import backup as dataset_backup
from labelvault.datasets import sources as dataset_sources
from labelvault.datasets.base import ImportFailed
from labelvault.db import Database
from labelvault.db.base import iso, utcnow
from labelvault.errors import Invalid
from labelvault.formats import get_exporter
from labelvault.formats.base import FormatError
from labelvault.media.models import Frame
from labelvault.projects.models import Project
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Task

KINDS = ("annotations", "full")
XML_FORMAT = "CVAT for images 1.1"
ID_FILE = "labelvault.json"


class BackupFormatError(Invalid):
    """A backup archive cannot be made or read back; the message says what is wrong."""


@contextmanager
def format_errors() -> Iterator[None]:
    """The backup format's own errors, raised as BackupFormatError (a user error)."""
    try:
        yield
    except (ImportFailed, FormatError) as exc:
        raise BackupFormatError(str(exc)) from exc


class _SameSession:
    """Where formats code opens sessions of a Database, hands out the caller's one session,
    so a backup is read in the transaction its fingerprint was taken in."""

    def __init__(self, session: Session) -> None:
        self._session = session

    def session(self) -> AbstractContextManager[Session]:
        return nullcontext(self._session)


# ---- writing -------------------------------------------------------------------------------


def make_backup(
    session: Session,
    target_type: str,
    target_id: int,
    out: IO[bytes],
    kind: str,
    *,
    settings: Settings,
) -> dict[str, Any]:
    """Write a backup zip of a project (or of a task outside a project) to `out`.

    Returns a summary (tasks, jobs, frames). `out` must be seekable (a local file).
    """
    if kind not in KINDS:
        raise BackupFormatError(f"unknown backup kind {kind!r}: use one of {', '.join(KINDS)}")
    if target_type == "project":
        project = session.get(Project, target_id)
        if project is None:
            raise BackupFormatError(f"project {target_id} does not exist")
        name = project.name
    else:
        task = session.get(Task, target_id)
        if task is None or task.project_id is not None:
            raise BackupFormatError(f"task {target_id} does not exist outside a project")
        name = task.name
    shared = _SameSession(session)
    # Bucket-backed frames of a full backup are read through the cloud storages registry.
    clouds = CloudStorages(shared, settings)
    media_files = kind == "full"
    ids: dict[str, Any] = {
        "format": "labelvault-backup",
        "version": 1,
        "kind": kind,
        "target": {"type": target_type, "id": target_id, "name": name},
        "created": iso(utcnow()),
        "tasks": [],
    }
    summary = {"tasks": 0, "jobs": 0, "frames": 0}
    with format_errors(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        if target_type == "project":
            written = dataset_backup.write_project(
                shared.session, settings, target_id, zf, media_files=media_files, clouds=clouds
            )
        elif task.data_state == "ready":
            # A task backup has its files at the root; a project backup in task_<index>/.
            dataset_backup.write_task(
                shared.session, settings, target_id, zf, media_files=media_files, clouds=clouds
            )
            written = [("", target_id)]
        else:
            written = []  # no data yet, so no jobs and nothing but the id to keep
        for folder, task_id in written:
            jobs = task_service.jobs_of(session, task_id)
            written_task = session.get(Task, task_id)
            assert written_task is not None
            assignee = (
                session.get(User, written_task.assignee_id) if written_task.assignee_id else None
            )
            ids["tasks"].append(
                {
                    "dir": folder,
                    "id": task_id,
                    "name": written_task.name,
                    # The CVAT layout keeps job assignees only; the task's is kept here.
                    "assignee": assignee.username if assignee is not None else None,
                    # Its data/ holds base names: a share or bucket frame's folder is kept here.
                    "frame_names": [
                        [number, name]
                        for number, name in session.execute(
                            select(Frame.frame, Frame.name).where(Frame.task_id == task_id)
                        )
                        if "/" in name
                    ],
                    "jobs": [
                        {"id": j.id, "start_frame": j.start_frame, "stop_frame": j.stop_frame}
                        for j in jobs
                    ],
                }
            )
            summary["tasks"] += 1
            summary["jobs"] += len(jobs)
            summary["frames"] += written_task.size
        if kind == "annotations" and (target_type == "project" or written):
            db = cast(Database, shared)
            if target_type == "project":
                source = dataset_sources.project_source(db, settings, target_id)
            else:
                source = dataset_sources.task_source(db, settings, target_id)
            _write_xml(zf, source)
        zf.writestr(ID_FILE, json.dumps(ids))
    return summary


def _write_xml(zf: zipfile.ZipFile, source: dataset_sources.DbExportSource) -> None:
    with tempfile.TemporaryFile() as tmp:
        get_exporter(XML_FORMAT)(source, tmp, False)
        tmp.seek(0)
        with (
            zipfile.ZipFile(tmp) as xml_zip,
            xml_zip.open("annotations.xml") as xml,
            zf.open("annotations.xml", "w", force_zip64=True) as target,
        ):
            shutil.copyfileobj(xml, target, 1024 * 1024)


# ---- reading / restore in place --------------------------------------------------------------


def _read_json(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(zf.read(name))
    except KeyError as exc:
        raise BackupFormatError(f"the backup has no {name}") from exc
    except json.JSONDecodeError as exc:
        raise BackupFormatError(f"{name} in the backup is not valid JSON: {exc}") from exc


def _open_text(zf: zipfile.ZipFile, name: str) -> IO[str]:
    try:
        return io.TextIOWrapper(zf.open(name), encoding="utf-8")
    except KeyError as exc:
        raise BackupFormatError(f"the backup has no {name}") from exc


def read_ids(archive: BinaryIO | Path) -> dict[str, Any]:
    with zipfile.ZipFile(archive) as zf:
        return _read_json(zf, ID_FILE)


def restore_annotations_in_place(
    session: Session, archive: BinaryIO | Path, *, project_id: int | None = None
) -> dict[str, int]:
    """Put a backup's annotations back into the tasks and jobs they came from.

    Jobs are matched by id, else by frame range; the jobs of a task that no longer exists
    (or, with `project_id`, is no longer in that project) are reported as skipped. Each
    restored job's annotations are replaced and its version goes up. Returns counts of
    restored and skipped jobs.
    """
    restored = skipped = 0
    with format_errors(), zipfile.ZipFile(archive) as zf:
        ids = _read_json(zf, ID_FILE)
        for entry in ids["tasks"]:
            task = session.get(Task, entry["id"])
            if task is None or (project_id is not None and task.project_id != project_id):
                skipped += len(entry["jobs"])
                continue
            jobs = {j.id: j for j in task_service.jobs_of(session, task.id)}
            by_range = {(j.start_frame, j.stop_frame): j for j in jobs.values()}
            targets = [
                jobs.get(j["id"]) or by_range.get((j["start_frame"], j["stop_frame"]))
                for j in entry["jobs"]
            ]
            found = [j.id for j in targets if j is not None]
            skipped += len(targets) - len(found)
            if found:
                # Staged like any save, so the journal replays the restore too.
                annotation_service.clear_jobs(session, found)
            member = f"{entry['dir']}/annotations.json" if entry["dir"] else "annotations.json"
            with _open_text(zf, member) as f:
                objects = dataset_backup.iter_job_annotations(f, member)
                dataset_backup.add_annotations(session, task, targets, objects)
            if found:
                annotation_service.bump(session, found)
            restored += len(found)
            task_service.touch(session, task)
    return {"jobs": restored, "skipped": skipped}


def _folder_index(entry: dict[str, Any]) -> int:
    match = re.fullmatch(r"task_(\d+)/?", entry.get("dir") or "")
    return int(match.group(1)) if match else 0


def task_entries(archive: BinaryIO | Path) -> list[dict[str, Any]]:
    """The tasks of labelvault.json in the order a restore creates them; [] if it has none."""
    with zipfile.ZipFile(archive) as zf:
        if ID_FILE not in zf.namelist():
            return []  # not one of ours: nothing kept beyond the CVAT layout
        return sorted(_read_json(zf, ID_FILE)["tasks"], key=_folder_index)


def restore_task_details(session: Session, archive: BinaryIO | Path, task_ids: list[int]) -> None:
    """What the CVAT layout loses, put back on restored tasks (ids in restore order): the
    task's assignee (by username, if that user still exists) and frame names with folders."""
    users = {u.username: u.id for u in session.scalars(select(User))}
    for task_id, entry in zip(task_ids, task_entries(archive), strict=False):
        task = session.get(Task, task_id)
        if task is None:
            continue
        user_id = users.get(entry.get("assignee") or "")
        if user_id is not None:
            task.assignee_id = user_id
        for number, name in entry.get("frame_names") or []:
            session.execute(
                update(Frame)
                .where(Frame.task_id == task_id, Frame.frame == int(number))
                .values(name=str(name))
            )
