"""`labelvault adopt`: take in the CVAT periodic backups a platform left in a storage."""

from __future__ import annotations

import re
import tempfile
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

from sqlalchemy import func, select

from labelvault.annotations.models import LabeledImage, LabeledShape, LabeledTrack
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.formats.base import FormatError, ImportedDataset, ImportedFrame, Track
from labelvault.formats.registry import FORMATS
from labelvault.formats.safety import safe_extract_zip
from labelvault.media.params import DataError
from labelvault.projects.models import Project
from labelvault.storage import Storage
from labelvault.tasks.models import Job, Task

from . import backup, imports
from .base import ImportFailed, Progress, no_progress
from .models import AdoptedArchive

ROOT = "backups-periodic"
# CVAT 2.28's names (lower-cased): project_<name>_backup_<ts>.zip and
# project_<name>_annotations_<ts>_<format>.zip ("dataset" instead when images were saved).
ARCHIVE = re.compile(
    r"^project_(?P<name>.+)_(?P<kind>backup|annotations|dataset)_"
    r"(?P<stamp>\d{4}_\d{2}_\d{2}_\d{2}_\d{2}_\d{2})(?:_(?P<format>.+))?\.zip$",
    re.IGNORECASE,
)
DEFAULT_FORMAT = "cvat for images 1.1"  # what the ai4os backup sidecar exports


@dataclass(frozen=True)
class Archive:
    folder: str  # the project title's folder under backups-periodic/
    name: str
    kind: str  # "backup" or "annotations"
    stamp: str
    format: str
    path: str  # in the storage


@dataclass
class Plan:
    """What adopting one folder will do: restore a backup, apply annotations, or nothing."""

    folder: str
    backup: Archive | None = None
    annotations: Archive | None = None
    project_id: int | None = None  # the project an earlier run made
    notes: list[str] = field(default_factory=list)


@dataclass
class Outcome:
    folder: str
    project_id: int | None = None
    tasks: int = 0
    frames: int = 0
    objects: int = 0
    lines: list[str] = field(default_factory=list)
    failed: bool = False


def find_archives(storage: Storage) -> dict[str, list[Archive]]:
    """Every CVAT periodic-backup archive under backups-periodic/, by folder, oldest first."""
    found: dict[str, list[Archive]] = {}
    if not storage.exists(ROOT):
        return found
    for entry in storage.walk(ROOT):
        parts = entry.name.split("/")
        match = ARCHIVE.match(parts[-1])
        if len(parts) != 2 or match is None:
            continue  # not <project title>/<archive>
        kind = "backup" if match["kind"].lower() == "backup" else "annotations"
        fmt = (match["format"] or DEFAULT_FORMAT).lower()
        archive = Archive(parts[0], parts[1], kind, match["stamp"], fmt, entry.path)
        found.setdefault(parts[0], []).append(archive)
    for archives in found.values():
        archives.sort(key=lambda a: (a.stamp, a.kind == "annotations", a.name))
    return found


def plan(db: Database, found: dict[str, list[Archive]]) -> list[Plan]:
    """Per folder: its newest full backup unless one was adopted, then newer annotations."""
    plans = []
    with db.session() as session:
        for folder, archives in sorted(found.items()):
            rows = list(
                session.scalars(
                    select(AdoptedArchive)
                    .where(AdoptedArchive.folder == folder)
                    .order_by(AdoptedArchive.stamp, AdoptedArchive.id)
                )
            )
            done = {r.archive for r in rows}
            step = Plan(folder)
            adopted_backups = [r for r in rows if r.kind == "backup"]
            backups = [a for a in archives if a.kind == "backup"]
            if adopted_backups:
                step.project_id = adopted_backups[-1].project_id
                if step.project_id is None or session.get(Project, step.project_id) is None:
                    step.project_id = None
                    step.notes.append("adopted before, and that project was deleted since")
                    plans.append(step)
                    continue
                newest = adopted_backups[-1].stamp
                if backups and backups[-1].stamp > newest:
                    step.notes.append(
                        f"newer full backup {backups[-1].name} not restored over project "
                        f"{step.project_id} (delete that project to take it)"
                    )
            elif backups:
                step.backup = backups[-1]
            else:
                step.notes.append("no full backup (annotation-only archives need the images)")
                plans.append(step)
                continue
            since = max([r.stamp for r in rows] + ([step.backup.stamp] if step.backup else []))
            newer = [
                a
                for a in archives
                if a.kind == "annotations" and a.stamp > since and a.name not in done
            ]
            if newer:
                step.annotations = newer[-1]  # each holds the project's whole annotations
            plans.append(step)
    return plans


def _record(db: Database, archive: Archive, project_id: int) -> None:
    with db.session() as session:
        session.add(
            AdoptedArchive(
                folder=archive.folder,
                archive=archive.name,
                kind=archive.kind,
                stamp=archive.stamp,
                project_id=project_id,
            )
        )


@contextmanager
def _about(archive: Archive) -> Iterator[None]:
    """What is wrong with an archive is said with its name; nothing of it was kept."""
    try:
        yield
    except (ImportFailed, FormatError, DataError, zipfile.BadZipFile, ET.ParseError) as exc:
        message = str(exc)
        if archive.name not in message:
            message = f"{archive.name}: {message}"
        raise ImportFailed(message) from exc


def _download(storage: Storage, archive: Archive, folder: Path) -> Path:
    local = folder / archive.name
    with local.open("wb") as out:
        for chunk in storage.iter_bytes(archive.path):
            out.write(chunk)
    return local


def counts(db: Database, project_id: int) -> tuple[int, int, int]:
    """Tasks, frames and top-level objects (tags, shapes, tracks) of a project."""
    with db.session() as session:
        tasks, frames = session.execute(
            select(func.count(Task.id), func.coalesce(func.sum(Task.size), 0)).where(
                Task.project_id == project_id
            )
        ).one()
        jobs = select(Job.id).join(Task, Job.task_id == Task.id)
        jobs = jobs.where(Task.project_id == project_id)
        objects = 0
        for model in (LabeledImage, LabeledShape, LabeledTrack):
            query = select(func.count()).select_from(model).where(model.job_id.in_(jobs))
            if model is not LabeledImage:
                query = query.where(model.parent_id.is_(None))  # type: ignore[attr-defined]
            objects += session.scalar(query) or 0
    return int(tasks), int(frames), objects


class _OneTask:
    """The items and tracks of one CVAT task of a project export (by their task_id)."""

    def __init__(self, dataset: ImportedDataset, task_id: int | None) -> None:
        self._dataset = dataset
        self._task_id = task_id

    def __getattr__(self, name: str) -> Any:
        return getattr(self._dataset, name)

    def frames(self) -> Iterator[ImportedFrame]:
        for item in self._dataset.frames():
            if self._task_id is None or item.task_id == self._task_id:
                yield item

    def tracks(self) -> Iterator[Track]:
        for track in self._dataset.tracks():
            if self._task_id is None or track.get("task_id") == self._task_id:
                yield track


def _export_tasks(root: Path) -> list[tuple[int, str]]:
    """(CVAT task id, name) from a project export's <meta>, in id order."""
    out: list[tuple[int, str]] = []
    for path in sorted(root.rglob("*.xml")):
        stack: list[str] = []
        for event, el in ET.iterparse(path, events=("start", "end")):
            if event == "start":
                stack.append(el.tag)
                continue
            stack.pop()
            if el.tag == "task" and stack[-2:] == ["project", "tasks"]:
                task_id = (el.findtext("id") or "").strip()
                if task_id.isdecimal():
                    out.append((int(task_id), (el.findtext("name") or "").strip()))
            elif el.tag == "meta":
                break
    return sorted(out)


def _importer(fmt: str) -> str:
    names = {name.lower(): name for name, f in FORMATS.items() if f.importer is not None}
    # CVAT exports "CVAT for images/video 1.1"; both are read by its one importer "CVAT 1.1".
    fmt = re.sub(r"^cvat for (images|video) ", "cvat ", fmt)
    if fmt not in names:
        raise ImportFailed(f"annotations in format '{fmt}', which LabelVault cannot import")
    return names[fmt]


def apply_annotations(
    db: Database, settings: Settings, project_id: int, local: Path, fmt: str, work: Path
) -> tuple[imports.ImportSummary, int]:
    """Replace each restored task's annotations with the archive's; returns the summary
    and how many items belong to tasks the backup did not have."""
    root = safe_extract_zip(local, work / "annotations")
    dataset = imports.open_imported(_importer(fmt), root)
    exported = _export_tasks(root)
    with db.session() as session:
        ours = list(
            session.execute(
                select(Task.id, Task.name).where(Task.project_id == project_id).order_by(Task.id)
            )
        )
    targets: list[tuple[int, int | None]] = []
    if not exported:
        if len(ours) != 1:
            raise ImportFailed("the archive does not say which task each image belongs to")
        targets = [(ours[0][0], None)]
    else:
        names = [n for _i, n in exported]
        by_name = {n: tid for tid, n in ours if [m for _t, m in ours].count(n) == 1}
        for position, (cvat_id, name) in enumerate(exported):
            if names.count(name) == 1 and name in by_name:
                targets.append((by_name[name], cvat_id))
            elif len(exported) == len(ours):
                targets.append((ours[position][0], cvat_id))  # same tasks, in CVAT's id order
    total = imports.ImportSummary()
    for task_id, cvat_id in targets:
        view = cast(ImportedDataset, _OneTask(dataset, cvat_id))
        summary = imports.import_into_task(
            db, task_id, view, options=imports.ImportOptions(mode="replace")
        )
        total.shapes += summary.shapes
        total.tags += summary.tags
        total.tracks += summary.tracks
        total.frames += summary.frames
    matched = {c for _t, c in targets}
    others = 0
    if None not in matched:
        others = sum(1 for item in dataset.frames() if item.task_id not in matched)
    return total, others


def adopt_one(
    db: Database,
    settings: Settings,
    storage: Storage,
    step: Plan,
    owner_id: int,
    progress: Progress = no_progress,
) -> Outcome:
    """Carry out one folder's plan; what it did is recorded as soon as each part is done."""
    out = Outcome(step.folder, step.project_id)
    with tempfile.TemporaryDirectory(dir=settings.uploads_dir, prefix="adopt-") as tmp:
        work = Path(tmp)
        if step.backup is not None:
            progress(0.0, f"{step.folder}: downloading {step.backup.name}")
            local = _download(storage, step.backup, work)
            with _about(step.backup):
                out.project_id = backup.restore_project(
                    db, settings, local, owner_id, lambda f, m: progress(0.05 + 0.8 * f, m)
                )
            _record(db, step.backup, out.project_id)
            local.unlink()
            out.lines.append(f"restored {step.backup.name}")
        if step.annotations is not None and out.project_id is not None:
            progress(0.85, f"{step.folder}: applying {step.annotations.name}")
            local = _download(storage, step.annotations, work)
            with _about(step.annotations):
                summary, others = apply_annotations(
                    db, settings, out.project_id, local, step.annotations.format, work
                )
            _record(db, step.annotations, out.project_id)
            line = (
                f"applied {step.annotations.name}: {summary.shapes} shapes, {summary.tags} "
                f"tags, {summary.tracks} tracks on {summary.frames} frames"
            )
            if others:
                line += f" ({others} images of tasks made after the backup skipped)"
            out.lines.append(line)
    if out.project_id is not None:
        out.tasks, out.frames, out.objects = counts(db, out.project_id)
    progress(1.0, step.folder)
    return out
