"""Dataset imports: annotations into a task or job, and a project dataset as new tasks."""

from __future__ import annotations

import dataclasses
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from labelvault.annotations import service as annotations
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.formats.base import ImportedDataset, ImportedFrame
from labelvault.formats.registry import get_importer
from labelvault.formats.safety import safe_extract_zip
from labelvault.formats.track_ids import TrackCollector, is_track_part
from labelvault.media.frames import frames_of
from labelvault.media.images import is_image_name
from labelvault.media.ingest import create_data
from labelvault.media.params import DataError, DataParams
from labelvault.projects import service as project_service
from labelvault.projects.models import Project
from labelvault.tasks import service as tasks
from labelvault.tasks.models import Job, Task

from .base import ImportFailed, Progress, no_progress
from .writing import ImportSummary, LabelMap, Writer, shape_wire, track_wire


def name_keys(name: str) -> list[str]:
    """Ways a dataset may write a frame's name, most specific first: path, path without
    extension, file name, file name without extension."""
    clean = re.sub(r"^(\./)+|^/+", "", name.replace("\\", "/"))
    p = PurePosixPath(clean)
    full = str(p)
    return [full, str(p.with_suffix("")) if p.suffix else full, p.name, p.stem]


class FrameMatcher:
    """Maps dataset item names to our frame numbers (with or without extension and folders)."""

    def __init__(self, frames: Iterable[tuple[int, str]]) -> None:
        self.by_key: dict[str, int | None] = {}
        all_keys = [(frame, name_keys(name)) for frame, name in frames]
        for level in range(4):
            seen: dict[str, int | None] = {}
            for frame, keys in all_keys:
                key = keys[level]
                seen[key] = None if key in seen and seen[key] != frame else frame
            for key, frame in seen.items():
                # a more specific key of another frame wins; an ambiguous one matches nothing
                if key not in self.by_key:
                    self.by_key[key] = frame

    def match(self, name: str) -> int | None:
        for key in dict.fromkeys(name_keys(name)):
            frame = self.by_key.get(key)
            if frame is not None:
                return frame
        return None


@dataclass
class ImportOptions:
    mode: str = "replace"  # "replace" the scope's annotations, or "append" to them
    create_labels: bool = False  # add labels the dataset uses and the task lacks
    conv_mask_to_poly: bool = False


def frame_size_lookup(db: Database, task_id: int) -> Callable[[str], tuple[int, int] | None]:
    """The YOLO importers' callback: an item name → our frame's (width, height)."""
    with db.session() as session:
        rows = [(f.frame, f.name, f.width, f.height) for f in frames_of(session, task_id)]
    matcher = FrameMatcher([(f, n) for f, n, _w, _h in rows])
    sizes = {f: (w, h) for f, _n, w, h in rows}

    def lookup(name: str) -> tuple[int, int] | None:
        frame = matcher.match(name)
        return sizes.get(frame) if frame is not None else None

    return lookup


def import_into_task(
    db: Database,
    task_id: int,
    dataset: ImportedDataset,
    *,
    job_id: int | None = None,
    options: ImportOptions | None = None,
    progress: Progress = no_progress,
    items: Callable[[ImportedFrame], bool] | None = None,
    rename: dict[str, str] | None = None,
) -> ImportSummary:
    """Write a dataset's annotations into a task (or one job) in one transaction.

    Objects are validated and inserted in batches while the dataset streams, so memory
    holds one batch; any error rolls the whole import back. ``items`` filters dataset items
    (a project import routes subsets to tasks); ``rename`` maps item names to frame names.
    """
    options = options or ImportOptions()
    summary = ImportSummary()
    if db.is_sqlite:
        # SQLite has one writer: progress from another connection would wait for this one.
        progress = no_progress
    with db.session() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise ImportFailed("the task was deleted")
        if task.data_state != "ready":
            raise ImportFailed("this task has no data yet; add images before annotations")
        job = session.get(Job, job_id) if job_id is not None else None
        frames = frames_of(session, task.id)
        matcher = FrameMatcher([(f.frame, f.name) for f in frames])
        sizes = {f.frame: (f.width, f.height) for f in frames}
        scope = (
            annotations.job_scope(session, job, task)
            if job
            else annotations.task_scope(session, task)
        )
        labels = LabelMap(session, task, dataset, options.create_labels, summary)
        labels.scopes.append(scope)
        if options.mode == "replace":
            # Staged like any save, so the journal replays the import's replace too.
            annotations.clear_jobs(session, scope.job_ids)
        writer = Writer(session, scope)
        track_parts = TrackCollector()
        dataset_frames: dict[int, int] = {}
        unmatched: list[str] = []
        seen_frames: set[int] = set()
        for count, item in enumerate(dataset.frames()):
            if items is not None and not items(item):
                continue
            name = rename.get(item.name, item.name) if rename else item.name
            frame = matcher.match(name) if name else None
            known = item.frame is not None and 0 <= item.frame < task.size
            if frame is None and known and (not name or rename is None):
                frame = item.frame  # CVAT XML records frame numbers; trust them last
            if frame is None:
                if item.tags or item.shapes:
                    unmatched.append(item.name or f"frame {item.frame}")
                continue
            if item.frame is not None:
                dataset_frames[item.frame] = frame
            if not scope.has_frame(frame):
                continue  # a job import takes only the job's frames
            seen_frames.add(frame)
            where = item.name or f"frame {frame}"
            for tag in item.tags:
                label = labels.label(tag["label"])
                if label is None:
                    continue
                writer.add(
                    "tags",
                    {
                        "frame": frame,
                        "label_id": label.id,
                        "group": int(tag.get("group") or 0),
                        "source": tag.get("source") or "file",
                        "attributes": labels.attributes(label, tag.get("attributes") or ()),
                    },
                    where,
                )
                summary.tags += 1
            for shape in item.shapes:
                if is_track_part(shape):
                    track_parts.add(shape, frame)  # one frame of a track (track_id)
                    continue
                for wire in shape_wire(
                    labels, shape, frame, sizes.get(frame), options.conv_mask_to_poly
                ):
                    writer.add("shapes", wire, where)
                    summary.shapes += 1
            if count % 1000 == 0:
                progress(0.1 + 0.6 * min(count / max(task.size, 1), 1.0), "Reading annotations")

        def frame_of(dataset_frame: int) -> int | None:
            frame = dataset_frames.get(dataset_frame)
            if frame is None and 0 <= dataset_frame < task.size:
                frame = dataset_frame  # video exports have no per-image entries
            return frame if frame is not None and scope.has_frame(frame) else None

        for track in dataset.tracks():
            wire = track_wire(labels, track, frame_of, None)
            if wire is not None:
                writer.add("tracks", wire, f"track of '{track.get('label')}'")
                summary.tracks += 1
        try:
            rebuilt = track_parts.tracks(stop_frame=task.size - 1)
        except ValueError as exc:
            raise ImportFailed(str(exc)) from exc
        for track in rebuilt:
            # frames are the task's already; the collector worked on matched frames
            wire = track_wire(labels, track, lambda f: f if scope.has_frame(f) else None, None)
            if wire is not None:
                writer.add("tracks", wire, f"track of '{track.get('label')}'")
                summary.tracks += 1
        if labels.unknown:
            names = sorted(labels.unknown)
            raise ImportFailed(
                f"the dataset uses labels this {'project' if task.project_id else 'task'} "
                f"lacks: {', '.join(names[:20])}; add them, or import with create_labels=true"
            )
        if unmatched:
            raise ImportFailed(
                f"{len(unmatched)} dataset items match no frame of the task: "
                f"{', '.join(unmatched[:10])}{' …' if len(unmatched) > 10 else ''}"
            )
        writer.flush()
        annotations.bump(session, scope.job_ids)
        tasks.touch(session, task)
        summary.frames = len(seen_frames)
    return summary


def open_imported(fmt: str, root: Path, **kwargs: Any) -> ImportedDataset:
    try:
        importer = get_importer(fmt)
    except KeyError as exc:
        raise ImportFailed(
            f"unknown import format '{fmt}'; see /api/server/annotation/formats"
        ) from exc
    return importer(root, **kwargs)


class ImageIndex:
    """Image files of an extracted archive, found by any trailing part of their path."""

    def __init__(self, root: Path) -> None:
        self.by_key: dict[str, Path] = {}
        for path in sorted(root.rglob("*")):
            if not path.is_file() or not is_image_name(path.name):
                continue
            parts = path.relative_to(root).parts
            for i in range(len(parts)):
                tail = PurePosixPath(*parts[i:])
                self.by_key.setdefault(str(tail), path)
                self.by_key.setdefault(str(tail.with_suffix("")), path)

    def find(self, name: str) -> Path | None:
        for key in dict.fromkeys(name_keys(name)):
            if key in self.by_key:
                return self.by_key[key]
        return None


def import_project_dataset(
    db: Database,
    settings: Settings,
    project_id: int,
    fmt: str,
    archive: Path,
    owner_id: int | None,
    options: ImportOptions,
    progress: Progress = no_progress,
) -> list[int]:
    """Create one task per subset of a dataset archive, with its images and annotations.

    All or nothing: if any task fails, the tasks made so far are deleted again.
    """
    if not zipfile.is_zipfile(archive):
        raise ImportFailed(
            f"{archive.name}: a project dataset import needs a zip archive with images"
        )
    work = Path(tempfile.mkdtemp(dir=settings.uploads_dir, prefix="project-import-"))
    created: list[int] = []
    try:
        root = safe_extract_zip(archive, work / "x")
        dataset = open_imported(fmt, root)
        index = ImageIndex(root)
        subsets: dict[str, dict[str, Path]] = {}
        missing: list[str] = []
        progress(0.05, "Reading the dataset")
        for item in dataset.frames():
            if not item.name:
                continue
            # project exports keep each subset's images in images/<subset>/ (CVAT's layout),
            # where one name may repeat across subsets
            path = index.find(f"{item.subset}/{item.name}") if item.subset else None
            path = path or index.find(item.name)
            if path is None:
                missing.append(item.name)
                continue
            subsets.setdefault(item.subset or "", {})[item.name] = path
        if missing:
            raise ImportFailed(
                f"{len(missing)} dataset items have no image in the archive: "
                f"{', '.join(missing[:10])}; export the dataset with images"
            )
        if not subsets:
            raise ImportFailed(f"{archive.name}: the archive holds no annotated images")
        with db.session() as session:
            if not project_service.labels_of(session, project_id=project_id):
                # A project without labels takes the dataset's (CVAT's import does the same:
                # `project create --dataset_path` without `--labels` relies on it).
                options = dataclasses.replace(options, create_labels=True)
        for number, (subset, files) in enumerate(sorted(subsets.items())):
            with db.session() as session:
                project = session.get(Project, project_id)
                if project is None:
                    raise ImportFailed("the project was deleted")
                task = tasks.create_task(
                    session,
                    name=subset or "default",
                    owner_id=owner_id or project.owner_id or 0,
                    project=project,
                    labels=[],
                    subset=subset,
                )
                task_id = task.id
            created.append(task_id)
            stage = work / f"task-{task_id}"
            stage.mkdir()
            rename: dict[str, str] = {}
            order: list[str] = []
            for name, src in files.items():
                # create_data keeps file names flat; make repeated names unique
                base, n = src.name, 1
                while (stage / base).exists():
                    base = f"{src.stem}_{n}{src.suffix}"
                    n += 1
                shutil.copyfile(src, stage / base)
                rename[name] = base
                order.append(base)
            share = 1 / len(subsets)
            params = DataParams(sorting_method="predefined", upload_file_order=order)
            create_data(
                db.session,
                settings,
                task_id,
                [stage / n for n in order],
                params,
                lambda f, m, b=number, w=share: progress(0.1 + 0.8 * w * (b + f), m),
            )
            import_into_task(
                db,
                task_id,
                dataset,
                options=options,
                items=lambda item, s=subset: (item.subset or "") == s,
                rename=rename,
            )
        return created
    except DataError as exc:
        delete_tasks(db, settings, created)
        raise ImportFailed(str(exc)) from exc
    except BaseException:
        delete_tasks(db, settings, created)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)


def delete_tasks(db: Database, settings: Settings, task_ids: list[int]) -> None:
    for task_id in task_ids:
        with db.session() as session:
            task = session.get(Task, task_id)
            if task is not None:
                tasks.delete_task(settings, session, task)
