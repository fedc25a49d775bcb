"""Task data in: files from any source become frames, jobs and a manifest; undo of a cut run."""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.orm import Session

from labelvault.background.models import Request
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.db.base import utcnow
from labelvault.media import sources
from labelvault.media.archives import ArchiveLimits, extract_archive, is_archive_name
from labelvault.media.frames import frames_of
from labelvault.media.images import IMAGE_EXTENSIONS, MediaError, is_image_name, verify_image
from labelvault.media.layout import (
    MANIFEST,
    STAGING_PREFIX,
    VIDEO_INDEX,
    cache_dir,
    raw_dir,
    upload_area,
)
from labelvault.media.manifest import ImageEntry, write_image_manifest, write_video_manifest
from labelvault.media.models import Frame
from labelvault.media.params import DataError, DataParams
from labelvault.media.sorting import sort_names
from labelvault.media.sources import CloudResolver
from labelvault.media.video import index_video, is_video_name, save_index
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Job, Task

# Progress is a database write; this many updates per request is plenty for a progress bar.
PROGRESS_STEPS = 100


def write_manifest(path: Path, rows: list[dict[str, Any]]) -> None:
    """CVAT's manifest.jsonl from frame rows (name, width, height)."""
    write_image_manifest(
        path,
        (ImageEntry.from_file(r["name"], _Size(r["width"], r["height"])) for r in rows),  # type: ignore[arg-type]
    )


def default_chunk_size(width: int, height: int) -> int:
    # CVAT's rule: about 36 Full-HD frames' worth of pixels per chunk, 2..72 frames.
    area = max(1, width * height)
    return max(2, min(72, int(36 * 1920 * 1080 / area)))


@dataclass
class Item:
    """One candidate frame file on its way into a task."""

    name: str  # the frame name, unique within the task
    ref: str  # what Frame.path will hold
    local: Path | None = None  # where to read it now (None: resolve `source` first)
    source: str | None = None  # a share:// or cloud:// ref to read it from
    move: bool = False  # a staged file (upload, archive member, download) to move into raw/
    copy: bool = False  # copy_data: copy the source file into raw/


class _Progress:
    def __init__(self, report: Callable[[float, str], None], start: float, span: float) -> None:
        self.report, self.start, self.span = report, start, span

    def files(self, done: int, total: int, verb: str) -> None:
        every = max(1, total // PROGRESS_STEPS)
        if done == total or done % every == 0:
            self.report(self.start + self.span * done / max(total, 1), f"{verb} {done} of {total}")


def create_data(
    session_factory: Callable[[], Any],
    settings: Settings,
    task_id: int,
    files: list[Path],
    params: DataParams,
    progress: Callable[[float, str], None],
    *,
    source_files: list[sources.SourceFile] | None = None,
    skipped: list[str] | None = None,
    clouds: CloudResolver | None = None,
    names: list[str] | None = None,
) -> int:
    """Turn files into the task's frames and jobs (or append them); all or nothing.

    `files` are local files to take (uploads, downloads): moved into the task's raw folder.
    `source_files` are share or bucket files, read in place (copied with copy_data).
    Archives are expanded safely, images probed from headers, one video indexed by key
    frames. On any error nothing stays: no rows, no files. With `params.skip_broken`,
    unusable files are left out and listed in `skipped`. Bucket files need `clouds`.
    `names` are the frame names of `files` (relative paths such as `a/1.png`; default: each
    file's own name), so a restored backup keeps CVAT's folders and repeated file names.
    """
    raw = raw_dir(settings, task_id)
    had_raw = raw.exists()
    staging = raw / f"{STAGING_PREFIX}{uuid.uuid4().hex}"
    moved: list[Path] = []
    skipped_list: list[str] = [] if skipped is None else skipped
    try:
        items = _collect(
            settings, files, source_files or [], staging, params, skipped_list, clouds, names
        )
        videos = [i for i in items if is_video_name(i.name)]
        if videos:
            count = _create_video(
                session_factory, settings, task_id, items, videos, params, progress, moved, clouds
            )
        else:
            count = _create_images(
                session_factory,
                settings,
                task_id,
                items,
                params,
                progress,
                moved,
                skipped_list,
                clouds,
            )
    except (MediaError, sources.SourceError) as exc:
        _undo(raw, had_raw, moved, params.append)
        raise DataError(str(exc)) from exc
    except BaseException:
        _undo(raw, had_raw, moved, params.append)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return count


def _undo(raw: Path, had_raw: bool, moved: list[Path], append: bool) -> None:
    if not append or not had_raw:
        shutil.rmtree(raw, ignore_errors=True)
        return
    for path in moved:
        path.unlink(missing_ok=True)


def _collect(
    settings: Settings,
    files: list[Path],
    source_files: list[sources.SourceFile],
    staging: Path,
    params: DataParams,
    skipped: list[str],
    clouds: CloudResolver | None,
    names: list[str] | None = None,
) -> list[Item]:
    """Every candidate frame file in arrival order, archives expanded into `staging`."""
    limits = ArchiveLimits()
    expanded = staging / "archives"
    items: list[Item] = []

    def expand(archive: Path, shown: str) -> None:
        try:
            members = extract_archive(archive, expanded, limits=limits)
        except MediaError as exc:
            if params.skip_broken:
                skipped.append(f"{shown}: {exc.reason}")
                return
            raise MediaError(shown, exc.reason) from None
        for rel in members:
            items.append(Item(name=rel, ref=rel, local=expanded / rel, move=True))

    for index, path in enumerate(files):
        name = names[index] if names is not None else path.name
        if is_archive_name(path.name):
            expand(path, name)
        else:
            items.append(Item(name=name, ref=name, local=path, move=True))
    exclude = set(params.server_files_exclude)
    for source in source_files:
        if source.name in exclude:
            continue
        if is_archive_name(source.name):
            local = sources.resolve(settings, source.ref, staging, clouds)
            expand(local, source.name)
        elif params.copy_data:
            items.append(Item(name=source.name, ref=source.name, source=source.ref, copy=True))
        else:
            items.append(Item(name=source.name, ref=source.ref, source=source.ref))
    kept = []
    unsupported = []
    for item in items:
        if sources.is_ignored(item.name):
            continue
        if is_image_name(item.name) or is_video_name(item.name):
            kept.append(item)
        else:
            unsupported.append(item.name)
    if unsupported:
        if params.skip_broken:
            skipped.extend(f"{n}: not an image or video" for n in unsupported)
        else:
            shown = ", ".join(f"'{n}'" for n in unsupported[:5])
            more = f" and {len(unsupported) - 5} more" if len(unsupported) > 5 else ""
            raise DataError(
                f"unsupported files: {shown}{more}; use images "
                f"({', '.join(sorted(IMAGE_EXTENSIONS))}), one video, or zip/tar archives of "
                "images (or set skip_broken=true to leave them out)"
            )
    counts = Counter(i.name for i in kept)
    duplicates = sorted(n for n, c in counts.items() if c > 1)
    if duplicates:
        raise DataError(
            f"'{duplicates[0]}' was given more than once"
            + (f" (and {len(duplicates) - 1} more names)" if len(duplicates) > 1 else "")
            + "; file names in a task must be unique"
        )
    return kept


def _order(items: list[Item], params: DataParams, seed: int) -> list[Item]:
    by_name = {i.name: i for i in items}
    names = list(by_name)
    if params.sorting_method != "predefined":
        ordered = sort_names(names, params.sorting_method, seed=seed)
        return [by_name[n] for n in ordered]
    order = params.upload_file_order
    if not order:
        return items  # arrival order is the user's order
    # The SDK sends basenames; archive members and share files have folders.
    basenames: dict[str, str] = {}
    for name in names:
        basenames.setdefault(name.rsplit("/", 1)[-1], name)
    missing = [n for n in order if n not in by_name and n not in basenames]
    if missing:
        raise DataError(
            f"upload_file_order names files that were not given: {', '.join(missing[:5])}"
        )
    ordered = [by_name.get(n) or by_name[basenames[n]] for n in order]
    seen = {i.name for i in ordered}
    return ordered + [i for i in items if i.name not in seen]


def _existing_names(session_factory: Callable[[], Any], task_id: int) -> set[str]:
    with session_factory() as session:
        return set(session.scalars(select(Frame.name).where(Frame.task_id == task_id)))


def _resolve_sources(
    settings: Settings,
    chosen: list[Item],
    raw: Path,
    params: DataParams,
    skipped: list[str],
    progress: _Progress,
    clouds: CloudResolver | None,
) -> list[Item]:
    refs = [i.source for i in chosen if i.source is not None and i.local is None]
    if not refs:
        return chosen
    total = len(refs)
    found = sources.fetch_all(
        settings, refs, raw, lambda done: progress.files(done, total, "Fetched"), clouds
    )
    out = []
    for item in chosen:
        if item.source is not None and item.local is None:
            result = found[item.source]
            if isinstance(result, sources.SourceError):
                if params.skip_broken:
                    skipped.append(f"{item.name}: {result}")
                    continue
                raise result
            item.local = result
        out.append(item)
    return out


def _create_images(
    session_factory: Callable[[], Any],
    settings: Settings,
    task_id: int,
    items: list[Item],
    params: DataParams,
    report: Callable[[float, str], None],
    moved: list[Path],
    skipped: list[str],
    clouds: CloudResolver | None,
) -> int:
    if not items:
        raise DataError(
            "no images were given" + (f" (skipped: {'; '.join(skipped[:5])})" if skipped else "")
        )
    if params.append:
        clash = sorted(_existing_names(session_factory, task_id) & {i.name for i in items})
        if clash:
            raise DataError(
                f"'{clash[0]}' is already a frame of this task; rename it before appending"
            )
    ordered = _order(items, params, seed=task_id)
    stop = (
        len(ordered) - 1 if params.stop_frame is None else min(params.stop_frame, len(ordered) - 1)
    )
    if params.start_frame > stop:
        raise DataError(f"start_frame {params.start_frame} is after stop_frame {stop}")
    chosen = ordered[params.start_frame : stop + 1 : params.step]
    raw = raw_dir(settings, task_id)
    chosen = _resolve_sources(
        settings, chosen, raw, params, skipped, _Progress(report, 0.0, 0.3), clouds
    )
    limit = sources.max_pixels(settings)
    probe = _Progress(report, 0.3, 0.55)
    usable: list[tuple[Item, int, int]] = []
    total = len(chosen)
    for index, item in enumerate(chosen, 1):
        assert item.local is not None
        try:
            info = verify_image(item.local, max_pixels=limit)
        except MediaError as exc:
            if params.skip_broken:
                skipped.append(f"{item.name}: {exc.reason}")
                continue
            raise DataError(f"'{item.name}' {exc.reason}") from None
        usable.append((item, info.width, info.height))
        probe.files(index, total, "Checked image")
    if not usable:
        raise DataError(
            "none of the files is a usable image"
            + (f"; skipped: {'; '.join(skipped[:5])}" if skipped else "")
        )
    report(0.86, "Storing frames")
    raw.mkdir(parents=True, exist_ok=True)
    for item, _, _ in usable:
        if item.move or item.copy:
            target = raw / item.name
            target.parent.mkdir(parents=True, exist_ok=True)
            if target.exists():
                raise DataError(f"'{item.name}' is already a frame of this task")
            assert item.local is not None
            if item.move:
                os.replace(item.local, target)
            else:
                shutil.copyfile(item.local, target)
            moved.append(target)
            item.local = target
    if not params.append:
        write_image_manifest(
            raw / MANIFEST,
            (ImageEntry.from_file(i.name, _Size(w, h)) for i, w, h in usable),  # type: ignore[arg-type]
        )
    report(0.92, "Creating jobs")
    storage = _storage_kind(usable[0][0].ref)
    with session_factory() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise DataError("the task was deleted while its data was being prepared")
        if params.append:
            if task.data_state != "ready" or task.mode != "annotation":
                raise DataError("only a task with images can have images appended")
            base = task.size
        else:
            if task.data_state == "ready":
                raise DataError("this task already has data")
            base = 0
            session.execute(delete(Frame).where(Frame.task_id == task_id))
        rows = [
            {
                "task_id": task_id,
                "frame": base + i,
                "name": item.name,
                "path": item.ref,
                "width": w,
                "height": h,
            }
            for i, (item, w, h) in enumerate(usable)
        ]
        for start in range(0, len(rows), 5000):
            session.execute(insert(Frame), rows[start : start + 5000])
        if params.append:
            _append_jobs(session, task, base, base + len(rows) - 1)
            task.size = base + len(rows)
            task.stop_frame = task.size - 1
        else:
            task.size = len(rows)
            task.mode = "annotation"
            task.image_quality = params.image_quality
            task.chunk_size = params.chunk_size or default_chunk_size(usable[0][1], usable[0][2])
            task.start_frame = params.start_frame
            task.stop_frame = stop
            task.frame_filter = params.frame_filter
            task.sorting_method = params.sorting_method
            task.storage = storage
            task.cloud_storage_id = params.cloud_storage_id
            task.data_state = "ready"
            if task.overlap is None:
                task.overlap = 0
            task_service.create_jobs(session, task, _mapping(params, [i for i, _, _ in usable]))
        task_service.touch(session, task)
    if params.append:
        _rewrite_manifest(session_factory, settings, task_id)
    return len(usable)


@dataclass(frozen=True)
class _Size:
    width: int
    height: int


def _storage_kind(ref: str) -> str:
    if ref.startswith(sources.SHARE_SCHEME):
        return "share"
    if ref.startswith(sources.CLOUD_SCHEME):
        return "cloud_storage"
    return "local"


def _mapping(params: DataParams, chosen: list[Item]) -> list[list[int]] | None:
    if not params.job_file_mapping:
        return None
    index = {item.name: i for i, item in enumerate(chosen)}
    for item in chosen:
        index.setdefault(item.name.rsplit("/", 1)[-1], index[item.name])
    mapping = []
    for files_of_job in params.job_file_mapping:
        unknown = [n for n in files_of_job if n not in index]
        if unknown:
            raise DataError(f"job_file_mapping names unknown files: {unknown[:5]}")
        mapping.append([index[n] for n in files_of_job])
    return mapping


def _append_jobs(session: Session, task: Task, first: int, last: int) -> None:
    """Jobs for appended frames first..last.

    The rule: with segment_size 0 (one job for the whole task) the last job grows to cover
    the new frames; otherwise the new frames are cut into new jobs of segment_size (no
    overlap with the frames before). Existing jobs keep their frames, annotations,
    assignees and states, so appending never disturbs work in progress.
    """
    jobs = task_service.jobs_of(session, task.id)
    if task.segment_size <= 0 and jobs:
        job = max(jobs, key=lambda j: (j.stop_frame, j.id))
        if job.frames is not None:
            job.frames = list(job.frames) + list(range(first, last + 1))
        job.stop_frame = last
        job.updated_date = utcnow()
        return
    now = utcnow()
    ranges = task_service.segment_ranges(last - first + 1, task.segment_size, 0)
    if len(jobs) + len(ranges) > task_service.MAX_JOBS_PER_TASK:
        raise DataError(
            f"appending would make {len(jobs) + len(ranges)} jobs "
            f"(limit {task_service.MAX_JOBS_PER_TASK})"
        )
    session.add_all(
        Job(
            task_id=task.id,
            start_frame=first + a,
            stop_frame=first + b,
            created_date=now,
            updated_date=now,
        )
        for a, b in ranges
    )


def _rewrite_manifest(session_factory: Callable[[], Any], settings: Settings, task_id: int) -> None:
    with session_factory() as session:
        frames = frames_of(session, task_id)
    write_image_manifest(
        raw_dir(settings, task_id) / MANIFEST,
        (ImageEntry.from_file(f.name, _Size(f.width, f.height)) for f in frames),  # type: ignore[arg-type]
    )


def _create_video(
    session_factory: Callable[[], Any],
    settings: Settings,
    task_id: int,
    items: list[Item],
    videos: list[Item],
    params: DataParams,
    report: Callable[[float, str], None],
    moved: list[Path],
    clouds: CloudResolver | None,
) -> int:
    if len(items) > 1:
        raise DataError(
            f"'{videos[0].name}': a task holds images or one video, not both or several videos"
        )
    if params.append:
        raise DataError(f"'{videos[0].name}': videos cannot be appended to a task")
    item = videos[0]
    raw = raw_dir(settings, task_id)
    if item.local is None:
        assert item.source is not None
        item.local = sources.resolve(settings, item.source, raw, clouds)
    report(0.1, f"Indexing video {item.name}")
    try:
        index = index_video(item.local)
    except MediaError as exc:
        raise DataError(f"'{item.name}' {exc.reason}") from None
    stop = index.frame_count - 1
    if params.stop_frame is not None:
        stop = min(stop, params.stop_frame)
    if params.start_frame > stop:
        raise DataError(f"start_frame {params.start_frame} is after the video's last frame {stop}")
    numbers = list(range(params.start_frame, stop + 1, params.step))
    if item.move or item.copy:
        target = raw / item.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if item.move:
            os.replace(item.local, target)
        else:
            shutil.copyfile(item.local, target)
        moved.append(target)
    raw.mkdir(parents=True, exist_ok=True)
    save_index(raw / VIDEO_INDEX, index, item.ref)
    write_video_manifest(raw / MANIFEST, index.properties(item.name), index.key_frames)
    report(0.8, "Creating jobs")
    rows = [
        {
            "task_id": task_id,
            "frame": i,
            "name": f"frame_{i:06d}",
            "path": f"{item.ref}#{n}",
            "width": index.width,
            "height": index.height,
        }
        for i, n in enumerate(numbers)
    ]
    with session_factory() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise DataError("the task was deleted while its data was being prepared")
        if task.data_state == "ready":
            raise DataError("this task already has data")
        session.execute(delete(Frame).where(Frame.task_id == task_id))
        for start in range(0, len(rows), 5000):
            session.execute(insert(Frame), rows[start : start + 5000])
        task.size = len(rows)
        task.mode = "interpolation"
        task.image_quality = params.image_quality
        task.chunk_size = params.chunk_size or 36
        task.start_frame = params.start_frame
        task.stop_frame = stop
        task.frame_filter = params.frame_filter
        task.sorting_method = params.sorting_method
        task.storage = _storage_kind(item.ref)
        task.cloud_storage_id = params.cloud_storage_id
        task.data_state = "ready"
        if task.overlap is None:
            # CVAT's default for video: neighbouring jobs share 5 frames to carry tracks over.
            task.overlap = 5 if task.segment_size else 0
        task_service.create_jobs(session, task)
        task_service.touch(session, task)
    return len(rows)


# ---- recovery -----------------------------------------------------------------------------


def cleanup_interrupted(db: Database, settings: Settings) -> list[int]:
    """At start, after recover_interrupted: undo what killed task-data requests left behind.

    A task whose data was being created (data_state 'uploading') with no request still
    queued goes back to 'none'; its upload area, raw folder and cache are removed. Staging
    folders and files no frame refers to (an append cut short) are removed from every task.
    Returns the ids of tasks that were reset.
    """
    reset: list[int] = []
    with db.session() as session:
        waiting = set(
            session.scalars(
                select(Request.task_id).where(
                    Request.operation == "create:task", Request.status.in_(("queued", "started"))
                )
            )
        )
        stuck = [
            t
            for t in session.scalars(select(Task).where(Task.data_state == "uploading"))
            if t.id not in waiting
        ]
        for task in stuck:
            session.execute(delete(Frame).where(Frame.task_id == task.id))
            session.execute(delete(Job).where(Job.task_id == task.id))
            session.execute(
                update(Task).where(Task.id == task.id).values(data_state="none", size=0)
            )
            reset.append(task.id)
    for task_id in reset:
        upload_area(settings, task_id).discard()
        shutil.rmtree(raw_dir(settings, task_id), ignore_errors=True)
        shutil.rmtree(cache_dir(settings, task_id), ignore_errors=True)
    root = settings.media_dir / "tasks"
    for staging in root.glob(f"*/raw/{STAGING_PREFIX}*"):
        task_id = int(staging.parent.parent.name) if staging.parent.parent.name.isdecimal() else -1
        if task_id in waiting:
            continue
        shutil.rmtree(staging, ignore_errors=True)
        _remove_orphans(db, settings, task_id)
    return reset


def _remove_orphans(db: Database, settings: Settings, task_id: int) -> None:
    raw = raw_dir(settings, task_id)
    with db.session() as session:
        known = set(session.scalars(select(Frame.path).where(Frame.task_id == task_id)))
    keep = {MANIFEST, VIDEO_INDEX}
    for path in raw.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(raw).as_posix()
        if rel not in known and rel not in keep and not any(k.startswith(rel + "#") for k in known):
            path.unlink(missing_ok=True)
