"""CVAT v1.0 task and project backups of the database: streaming export and restore.

The archive's layout is labelvault.formats.cvat_backup; this module fills it from a task's
rows and makes a task (or project) from it again.
"""

from __future__ import annotations

import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson
from sqlalchemy import Connection, select, update
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.annotations import service as annotations
from labelvault.cloudstorages.registry import CloudStorages
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.formats.base import ImportedDataset
from labelvault.formats.cvat_backup import (
    VERSION,
    data_files,
    entry,
    extract,
    iter_job_annotations,
    manifest_header,
    manifest_line,
    read_meta,
    write_job_annotations,
    write_json,
)
from labelvault.media.frames import frame_file, frames_of
from labelvault.media.images import is_image_name
from labelvault.media.ingest import create_data
from labelvault.media.models import Frame
from labelvault.media.params import DataParams
from labelvault.media.sources import CloudResolver
from labelvault.media.video import is_video_name
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.review.ground_truth import GROUND_TRUTH, ground_truth_job
from labelvault.tasks import service as tasks
from labelvault.tasks.models import Job, Task

from .backup_jobs import (
    assignee_name,
    ordered_jobs,
    restore_ground_truth,
    restore_replicas,
    segments,
    stage_state,
)
from .base import ImportFailed, Progress, no_progress
from .imports import delete_tasks
from .labels import Schema, label_writes
from .sources import Names, read_tracks
from .writing import ImportSummary, LabelMap, Writer, shape_wire, track_wire

# Opens a session (Database.session); a caller with a session of its own passes one that
# yields it, so a whole backup is read in that one transaction.
Sessions = Callable[[], AbstractContextManager[Session]]
PAGE = 2000  # objects read per query while streaming annotations.json
# The backups domain reads annotations.json through this module too.
__all__ = [
    "add_annotations",
    "discard_project",
    "export_project",
    "export_task",
    "iter_job_annotations",
    "restore_project",
    "restore_task",
    "restore_task_dir",
    "write_project",
    "write_task",
]


# ---- export ---------------------------------------------------------------------------------


def _job_status(job: Job) -> str:
    return tasks.job_status(job.stage, job.state)


def _task_json(
    session: Any,
    task: Task,
    schema: Schema,
    jobs: list[Job],
    frames: list[Frame],
    gt: Job | None = None,
) -> dict[str, Any]:
    names = {f.frame: f.name for f in frames}
    # jobs: each annotation job followed by its consensus replicas (same frames)
    own = [j for j in jobs if j.type == tasks.ANNOTATION]
    custom = any(j.frames is not None for j in own)
    assignees = {j.assignee_id for j in [*jobs, *([gt] if gt else [])]}
    users = {u.id: u.username for u in session.scalars(select(User).where(User.id.in_(assignees)))}
    data: dict[str, Any] = {
        "chunk_size": task.chunk_size or 36,
        "image_quality": task.image_quality,
        # data/ holds exactly the task's frames, so the range is all of them
        "start_frame": 0,
        "stop_frame": max(task.size - 1, 0),
        "chunk_type": "imageset",
        "storage_method": "cache",
        "storage": "local",
        "sorting_method": "predefined",
        "deleted_frames": list(task.deleted_frames or []),
        "custom_segments": custom,
    }
    if custom:
        data["job_file_mapping"] = [[names[f] for f in tasks.job_frames(j)] for j in own]
    job_list = []
    for job in jobs:
        entry: dict[str, Any] = {
            "start_frame": job.start_frame,
            "stop_frame": job.stop_frame,
            "status": _job_status(job),
            "type": job.type or "annotation",
            # LabelVault's own keys; CVAT's importer ignores keys it does not know
            "stage": job.stage,
            "state": job.state,
            "assignee": users.get(job.assignee_id),
        }
        if job.frames is not None:
            entry["frames"] = list(job.frames)
            entry["files"] = [names[f] for f in job.frames]
        job_list.append(entry)
    if gt is not None:
        # CVAT's importer recreates it from "frames" (backups without a validation_layout)
        gt_frames = list(tasks.job_frames(gt))
        job_list.append(
            {
                "start_frame": gt.start_frame,
                "stop_frame": gt.stop_frame,
                "status": _job_status(gt),
                "type": GROUND_TRUTH,
                "frames": gt_frames,
                "stage": gt.stage,
                "state": gt.state,
                "assignee": users.get(gt.assignee_id),
            }
        )
    return {
        "name": task.name,
        "bug_tracker": task.bug_tracker or "",
        "status": tasks.task_status([_job_status(j) for j in own]),
        # CVAT before 2.26 wrote it; later ones count the replicas after each job instead
        "consensus_replicas": task.consensus_replicas,
        "subset": task.subset or "",
        "labels": schema.labels_backup_json(),
        "version": VERSION,
        "data": data,
        "jobs": job_list,
    }


def _job_tags(conn: Connection, job_id: int, names: Names) -> Iterator[dict[str, Any]]:
    """The job's tags page by page (keyset on ids), so memory holds one page."""
    last = 0
    while True:
        rows = annotations.tags_page(conn, job_id, last, PAGE)
        for _id, frame, body in rows:
            yield names.tag(orjson.loads(body), frame)
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


def _job_shapes(conn: Connection, job_id: int, names: Names) -> Iterator[dict[str, Any]]:
    """The job's shapes page by page, each skeleton with its elements."""
    last = 0
    while True:
        rows = annotations.shapes_page(conn, job_id, last, PAGE)
        if not rows:
            return
        shapes = {sid: names.shape(orjson.loads(body), frame) for sid, frame, body in rows}
        skeletons = [k for k, v in shapes.items() if v["type"] == "skeleton"]
        if skeletons:
            for parent, frame, body in annotations.shape_elements(conn, skeletons):
                shapes[parent]["elements"].append(names.shape(orjson.loads(body), frame))
        yield from shapes.values()
        if len(rows) < PAGE:
            return
        last = rows[-1][0]


def write_task(
    sessions: Sessions,
    settings: Settings,
    task_id: int,
    zf: zipfile.ZipFile,
    prefix: str = "",
    progress: Progress = no_progress,
    *,
    media_files: bool = True,
    clouds: CloudResolver | None = None,
) -> None:
    """Write one task's backup (task.json, annotations.json, data/) under ``prefix``.

    Without ``media_files`` data/ holds only the manifest (an annotation-only backup).
    """
    with sessions() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise ImportFailed("the task was deleted")
        if task.data_state != "ready":
            raise ImportFailed(f"task '{task.name}' has no data to back up")
        schema = Schema.load(session, project_id=task.project_id, task_id=task.id)
        jobs = ordered_jobs(session, task.id)
        gt = ground_truth_job(session, task.id)
        frames = frames_of(session, task.id)
        meta = _task_json(session, task, schema, jobs, frames, gt)
        write_json(zf, f"{prefix}task.json", meta)
        if gt is not None:
            jobs = [*jobs, gt]  # CVAT lists the ground-truth job (and its annotations) last
        names = Names(schema)
        zi = entry(f"{prefix}annotations.json")
        conn = session.connection()
        with zf.open(zi, "w", force_zip64=True) as out:
            out.write(b"[")
            for i, job in enumerate(jobs):
                if i:
                    out.write(b",")
                write_job_annotations(
                    out,
                    job.annotation_version,
                    _job_tags(conn, job.id, names),
                    _job_shapes(conn, job.id, names),
                    read_tracks(conn, [job.id], names),
                )
            out.write(b"]")
    lines = manifest_header()
    for i, frame in enumerate(frames):
        lines.append(manifest_line(frame.name, frame.width, frame.height))
        if not media_files:
            continue
        zi = entry(f"{prefix}data/{frame.name}", zipfile.ZIP_STORED)
        # Share, bucket and video frames are not in the task's media folder: frame_file
        # finds (or fetches, or decodes) each original.
        source = frame_file(settings, frame, clouds)
        with source.open("rb") as src, zf.open(zi, "w", force_zip64=True) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if i % 200 == 0:
            progress(i / max(len(frames), 1), f"Copied {i} of {len(frames)} images")
    zf.writestr(f"{prefix}data/manifest.jsonl", "\n".join(lines) + "\n")


def export_task(
    db: Database, settings: Settings, task_id: int, out: IO[bytes], progress: Progress = no_progress
) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        write_task(
            db.session, settings, task_id, zf, "", progress, clouds=CloudStorages(db, settings)
        )


def write_project(
    sessions: Sessions,
    settings: Settings,
    project_id: int,
    zf: zipfile.ZipFile,
    progress: Progress = no_progress,
    *,
    media_files: bool = True,
    clouds: CloudResolver | None = None,
) -> list[tuple[str, int]]:
    """Write a project's backup (project.json, task_N/...); returns (folder, task id) pairs."""
    with sessions() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise ImportFailed("the project was deleted")
        schema = Schema.load(session, project_id=project.id, task_id=None)
        meta = {
            "name": project.name,
            "bug_tracker": project.bug_tracker or "",
            "status": "annotation",
            "labels": schema.labels_backup_json(),
            "version": VERSION,
        }
        # CVAT skips tasks without data and numbers the folders by position, not id
        task_ids = list(
            session.scalars(
                select(Task.id)
                .where(Task.project_id == project.id, Task.data_state == "ready")
                .order_by(Task.id)
            )
        )
    write_json(zf, "project.json", meta)
    written = []
    for index, task_id in enumerate(task_ids):
        share = 1 / len(task_ids)
        write_task(
            sessions,
            settings,
            task_id,
            zf,
            f"task_{index}/",
            lambda f, m, i=index, w=share: progress(w * (i + f), m),
            media_files=media_files,
            clouds=clouds,
        )
        written.append((f"task_{index}", task_id))
    return written


def export_project(
    db: Database,
    settings: Settings,
    project_id: int,
    out: IO[bytes],
    progress: Progress = no_progress,
) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        write_project(
            db.session, settings, project_id, zf, progress, clouds=CloudStorages(db, settings)
        )


# ---- restore --------------------------------------------------------------------------------


def restore_task_dir(
    db: Database,
    settings: Settings,
    folder: Path,
    owner_id: int,
    project_id: int | None = None,
    progress: Progress = no_progress,
) -> int:
    """Create a task from an extracted task backup folder; on failure nothing remains."""
    meta = read_meta(folder / "task.json")
    data = meta.get("data") or {}
    jobs = [j for j in meta.get("jobs") or [] if j.get("type", "annotation") == "annotation"]
    media = [p for p in (folder / "data").rglob("*") if p.is_file() and p.name != "manifest.jsonl"]
    if data.get("storage") == "cloud_storage" and not media:
        # CVAT's lightweight backup of a cloud-storage task names its bucket by nothing
        # but the task's id there, so the images cannot be found from it
        raise ImportFailed(
            "this is a lightweight backup of a cloud-storage task: data/ holds only the "
            "manifest, not the images; back the task up with its media (CVAT: "
            "lightweight=false) and restore that"
        )
    listed = data_files(folder / "data", is_image_name, is_video_name)
    # a video task: one video whose frames are the task's (CVAT writes the file as uploaded)
    video = len(listed) == 1 and is_video_name(listed[0].name)
    # Frame names are paths under data/ (CVAT keeps an upload's folders, and one file name
    # may appear in several of them).
    cvat_names = [p.relative_to(folder / "data").as_posix() for p in listed]
    # A CVAT task with a ground-truth pool repeats its honeypot images in the manifest (one
    # frame per placement); here each image is one frame and jobs share frames instead.
    flat = list(dict.fromkeys(cvat_names))
    position = {name: i for i, name in enumerate(flat)}
    frame_map = [position[n] for n in cvat_names] if len(flat) < len(cvat_names) else None
    files = [folder / "data" / name for name in flat]
    start = int(data.get("start_frame") or 0) if frame_map is None else 0
    stop = data.get("stop_frame")
    if stop is None or frame_map is not None:
        stop = len(flat) - 1
    stop = min(int(stop), len(flat) - 1)
    step = 1
    match = re.fullmatch(r"step=(\d+)", str(data.get("frame_filter") or ""))
    if match:
        step = int(match.group(1))
    chosen = flat[start : stop + 1 : step]
    if video:
        start = int(data.get("start_frame") or 0)
        stop = data.get("stop_frame")
        last = max((int(j["stop_frame"]) for j in jobs), default=0)
        count = (int(stop) - start) // step + 1 if stop is not None else last + 1
        stop = int(stop) if stop is not None else None
        chosen = [flat[0]] * count  # frames of the video, for the job layout only
    segment_size, overlap, same = segments(jobs, len(chosen))
    mapping = None
    if not same and jobs and not video:
        mapping = []
        for job in jobs:
            if job.get("files"):
                known = set(flat)
                mapping.append(
                    [
                        f
                        if f in known
                        else str(f).removeprefix("data/")
                        if str(f).removeprefix("data/") in known
                        else PurePosixPath(f).name
                        for f in job["files"]
                    ]
                )
            elif job.get("frames"):
                mapping.append([chosen[int(f)] for f in job["frames"]])
            else:
                mapping.append(chosen[int(job["start_frame"]) : int(job["stop_frame"]) + 1])
    labels = label_writes(meta.get("labels") or [])
    with db.session() as session:
        project = session.get(Project, project_id) if project_id is not None else None
        try:
            task = tasks.create_task(
                session,
                name=str(meta.get("name") or "restored task"),
                owner_id=owner_id,
                project=project,
                labels=[] if project is not None else labels,
                segment_size=segment_size,
                overlap=overlap,
                bug_tracker=str(meta.get("bug_tracker") or ""),
                subset=str(meta.get("subset") or ""),
            )
        except (tasks.TaskError, projects.LabelError) as exc:
            raise ImportFailed(f"task.json: {exc}") from exc
        task_id = task.id
    try:
        stage = Path(tempfile.mkdtemp(dir=settings.uploads_dir, prefix="restore-"))
        try:
            for path, name in zip(files, flat, strict=True):
                (stage / name).parent.mkdir(parents=True, exist_ok=True)
                shutil.move(str(path), stage / name)
            params = DataParams(
                image_quality=int(data.get("image_quality") or 70),
                sorting_method="predefined",
                upload_file_order=flat,
                start_frame=start,
                stop_frame=stop,
                frame_filter=f"step={step}" if step > 1 else "",
                chunk_size=data.get("chunk_size") or None,
                job_file_mapping=mapping,
            )
            create_data(
                db.session,
                settings,
                task_id,
                [stage / n for n in flat],
                params,
                lambda f, m: progress(0.6 * f, m),
                names=flat,
            )
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        with db.session() as session:
            task = session.get(Task, task_id)
            deleted = [int(f) for f in data.get("deleted_frames") or [] if 0 <= int(f) < task.size]
            task.deleted_frames = sorted(set(deleted))
            users = {u.username: u.id for u in session.scalars(select(User))}
            for job_row, job in zip(tasks.jobs_of(session, task_id), jobs, strict=False):
                job_row.stage, job_row.state = stage_state(job)
                assignee = assignee_name(job)
                if assignee in users:
                    job_row.assignee_id = users[assignee]
            gt = next((j for j in meta.get("jobs") or [] if j.get("type") == GROUND_TRUTH), None)
            if gt is not None:
                restore_ground_truth(session, task, gt, flat, frame_map, users)
            restore_replicas(session, task, meta.get("jobs") or [], users)
        progress(0.7, "Restoring annotations")
        kinds = [j.get("type", "annotation") for j in meta.get("jobs") or []]
        _restore_annotations(db, task_id, folder / "annotations.json", kinds, frame_map)
    except BaseException:
        delete_tasks(db, settings, [task_id])
        raise
    return task_id


def _restore_annotations(
    db: Database,
    task_id: int,
    path: Path,
    kinds: list[str],
    frame_map: list[int] | None,
) -> None:
    """The backup's annotation, ground-truth and consensus replica jobs' objects into ours."""
    if not path.is_file():
        return
    with db.session() as session, path.open(encoding="utf-8") as f:
        task = session.get(Task, task_id)
        gt = ground_truth_job(session, task_id)
        # the backup's jobs of each type, in task.json's order (ours were made in that order)
        rows = {
            tasks.ANNOTATION: iter(tasks.jobs_of(session, task_id)),
            tasks.CONSENSUS_REPLICA: iter(tasks.replicas_of(session, task_id)),
            GROUND_TRUTH: iter([gt]),
        }
        jobs: list[Job | None] = [
            next(rows[kind], None) if kind in rows else None for kind in kinds
        ] or tasks.jobs_of(session, task_id)
        objects = iter_job_annotations(f, path.name)
        if frame_map is not None:
            objects = ((index, kind, _on_frames(obj, frame_map)) for index, kind, obj in objects)
        add_annotations(session, task, jobs, objects)


def _on_frames(obj: dict[str, Any], frame_map: list[int]) -> dict[str, Any]:
    """An object with CVAT's frame numbers (honeypot placements) moved onto our frames."""
    frame = obj.get("frame")
    if isinstance(frame, int) and 0 <= frame < len(frame_map):
        obj["frame"] = frame_map[frame]
    for key in ("shapes", "elements"):
        for child in obj.get(key) or ():
            _on_frames(child, frame_map)
    return obj


def add_annotations(
    session: Session,
    task: Task,
    jobs: Sequence[Job | None],
    objects: Iterable[tuple[int, str, dict[str, Any]]],
) -> None:
    """Add a backup's annotations (by label and attribute names) to the task's jobs.

    ``objects`` is what iter_job_annotations yields; the backup's job i goes into jobs[i]
    (None: skipped). Written in the caller's transaction.
    """
    summary = ImportSummary()
    labels = LabelMap(session, task, ImportedDataset(), False, summary)
    writer: Writer | None = None
    current = -1
    for index, kind, obj in objects:
        if index >= len(jobs):
            raise ImportFailed(
                f"annotations.json has annotations for job {index + 1}, "
                f"but task.json lists {len(jobs)} jobs"
            )
        job = jobs[index]
        if job is None:
            continue
        if index != current:
            if writer is not None:
                writer.flush()
            # frames may be anywhere in the task: a track started in a job keeps its
            # later keyframes there, so only the job it is stored in is fixed
            scope = annotations.task_scope(session, task)
            scope.job_ids, scope.job_of_frame = [job.id], None
            writer = Writer(session, scope)
            current = index
        where = f"annotations.json job {index + 1}"
        assert writer is not None
        if kind == "tags":
            label = labels.label(str(obj.get("label")))
            if label is not None:
                writer.add(
                    "tags",
                    {
                        "frame": int(obj.get("frame", 0)),
                        "label_id": label.id,
                        "group": int(obj.get("group") or 0),
                        "source": obj.get("source") or "manual",
                        "attributes": labels.attributes(label, obj.get("attributes") or ()),
                    },
                    where,
                )
        elif kind == "shapes":
            frame = int(obj.get("frame", 0))
            for wire in shape_wire(labels, obj, frame, None, False):
                wire["source"] = obj.get("source") or "manual"
                writer.add("shapes", wire, f"{where}, frame {frame}")
        else:
            wire = track_wire(labels, obj, lambda f: f, None)
            if wire is not None:
                writer.add("tracks", wire, where)
    if labels.unknown:
        raise ImportFailed(
            f"annotations.json uses labels the task does not have: {sorted(labels.unknown)[:20]}"
        )
    if writer is not None:
        writer.flush()


def restore_task(
    db: Database, settings: Settings, archive: Path, owner_id: int, progress: Progress = no_progress
) -> int:
    with tempfile.TemporaryDirectory(dir=settings.uploads_dir, prefix="backup-") as tmp:
        root = extract(archive, Path(tmp))
        return restore_task_dir(db, settings, root, owner_id, None, progress)


def restore_project(
    db: Database, settings: Settings, archive: Path, owner_id: int, progress: Progress = no_progress
) -> int:
    with tempfile.TemporaryDirectory(dir=settings.uploads_dir, prefix="backup-") as tmp:
        root = extract(archive, Path(tmp))
        meta = read_meta(root / "project.json")
        with db.session() as session:
            try:
                project = projects.create_project(
                    session,
                    str(meta.get("name") or "restored project"),
                    owner_id,
                    label_writes(meta.get("labels") or []),
                    bug_tracker=str(meta.get("bug_tracker") or ""),
                )
            except projects.LabelError as exc:
                raise ImportFailed(f"project.json: {exc}") from exc
            project_id = project.id
        folders = sorted(
            (int(m.group(1)), p)
            for p in root.iterdir()
            if p.is_dir() and (m := re.fullmatch(r"task_(\d+)", p.name))
        )
        try:
            for number, (_index, folder) in enumerate(folders):
                share = 1 / len(folders)
                restore_task_dir(
                    db,
                    settings,
                    folder,
                    owner_id,
                    project_id,
                    lambda f, m, i=number, w=share: progress(w * (i + f), m),
                )
        except BaseException:
            discard_project(db, settings, project_id)
            raise
        return project_id


def move_to_organization(db: Database, org_id: int, new_id: int, is_project: bool) -> None:
    """Put a restored project (with its tasks) or task into an organization."""
    with db.session() as session:
        if is_project:
            session.execute(
                update(Project).where(Project.id == new_id).values(organization_id=org_id)
            )
            where = Task.project_id == new_id
        else:
            where = Task.id == new_id
        session.execute(update(Task).where(where).values(organization_id=org_id))


def discard_project(db: Database, settings: Settings, project_id: int) -> None:
    """Delete a project with its tasks and their media (what undoes a restore)."""
    with db.session() as session:
        project = session.get(Project, project_id)
        if project is not None:
            tasks.delete_project(settings, session, project)
