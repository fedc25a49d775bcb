"""CVAT v1.0 task and project backup archives: streaming export and restore."""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.accounts.models import User
from labelvault.annotations.models import LabeledImage, LabeledShape
from labelvault.config import Settings
from labelvault.db import Database
from labelvault.media import service as media
from labelvault.media.models import Frame
from labelvault.projects import service as projects
from labelvault.projects.models import Project
from labelvault.tasks import service as tasks
from labelvault.tasks.models import Job, Task

from . import service
from .base import FormatError, ImportedDataset
from .safety import safe_extract_zip

VERSION = "1.0"
Progress = Callable[[float, str], None]
# Opens a session (Database.session); a caller with a session of its own passes one that
# yields it, so a whole backup is read in that one transaction.
Sessions = Callable[[], AbstractContextManager[Session]]
PAGE = 2000  # objects read per query while streaming annotations.json


def _noop(_fraction: float, _message: str = "") -> None:
    return None


# ---- export ---------------------------------------------------------------------------------


def _job_status(job: Job) -> str:
    return tasks.job_status(job.stage, job.state)


def _task_json(
    session: Any, task: Task, schema: service.Schema, jobs: list[Job], frames: list[Frame]
) -> dict[str, Any]:
    names = {f.frame: f.name for f in frames}
    custom = any(j.frames is not None for j in jobs)
    users = {
        u.id: u.username
        for u in session.scalars(select(User).where(User.id.in_({j.assignee_id for j in jobs})))
    }
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
        data["job_file_mapping"] = [[names[f] for f in tasks.job_frames(j)] for j in jobs]
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
    return {
        "name": task.name,
        "bug_tracker": task.bug_tracker or "",
        "status": tasks.task_status([_job_status(j) for j in jobs]),
        "subset": task.subset or "",
        "labels": schema.labels_backup_json(),
        "version": VERSION,
        "data": data,
        "jobs": job_list,
    }


def _write_json(zf: zipfile.ZipFile, arcname: str, obj: Any) -> None:
    zi = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
    zf.writestr(zi, orjson.dumps(obj), compress_type=zipfile.ZIP_DEFLATED)


def _backup_shape(shape: dict[str, Any]) -> dict[str, Any]:
    out = {
        k: shape[k]
        for k in (
            "type",
            "occluded",
            "outside",
            "z_order",
            "rotation",
            "points",
            "frame",
            "group",
            "source",
            "attributes",
            "label",
        )
        if k in shape
    }
    if "score" in shape:
        out["score"] = shape["score"]
    out["elements"] = [_backup_shape(e) for e in shape.get("elements") or ()]
    return out


def _backup_track(track: dict[str, Any]) -> dict[str, Any]:
    return {
        "frame": track["frame"],
        "group": track.get("group", 0),
        "source": track.get("source", "manual"),
        "attributes": track.get("attributes", []),
        "label": track["label"],
        "shapes": [
            {
                k: s[k]
                for k in (
                    "type",
                    "occluded",
                    "outside",
                    "z_order",
                    "rotation",
                    "points",
                    "frame",
                    "attributes",
                )
            }
            for s in track.get("shapes") or ()
        ],
        "elements": [_backup_track(e) for e in track.get("elements") or ()],
    }


def _write_job_annotations(
    out: IO[bytes], conn: Any, job_id: int, names: Any, version: int
) -> None:
    """One element of annotations.json, streamed page by page (keyset on ids)."""
    out.write(b'{"version":%d,"tags":[' % version)
    last, first = 0, True
    while True:
        rows = list(
            conn.execute(
                select(LabeledImage.id, LabeledImage.frame, LabeledImage.body)
                .where(LabeledImage.job_id == job_id, LabeledImage.id > last)
                .order_by(LabeledImage.id)
                .limit(PAGE)
            )
        )
        for _id, frame, body in rows:
            out.write((b"" if first else b",") + orjson.dumps(names.tag(orjson.loads(body), frame)))
            first = False
        if len(rows) < PAGE:
            break
        last = rows[-1][0]
    out.write(b'],"shapes":[')
    last, first = 0, True
    while True:
        rows = list(
            conn.execute(
                select(LabeledShape.id, LabeledShape.frame, LabeledShape.body)
                .where(
                    LabeledShape.job_id == job_id,
                    LabeledShape.parent_id.is_(None),
                    LabeledShape.id > last,
                )
                .order_by(LabeledShape.id)
                .limit(PAGE)
            )
        )
        if not rows:
            break
        shapes = {sid: names.shape(orjson.loads(body), frame) for sid, frame, body in rows}
        skeletons = [k for k, v in shapes.items() if v["type"] == "skeleton"]
        if skeletons:
            for parent, frame, body in conn.execute(
                select(LabeledShape.parent_id, LabeledShape.frame, LabeledShape.body)
                .where(LabeledShape.parent_id.in_(skeletons))
                .order_by(LabeledShape.id)
            ):
                shapes[parent]["elements"].append(names.shape(orjson.loads(body), frame))
        for shape in shapes.values():
            out.write((b"" if first else b",") + orjson.dumps(_backup_shape(shape)))
            first = False
        if len(rows) < PAGE:
            break
        last = rows[-1][0]
    out.write(b'],"tracks":[')
    for i, track in enumerate(service.read_tracks(conn, [job_id], names)):
        out.write((b"," if i else b"") + orjson.dumps(_backup_track(track)))
    out.write(b'],"intervals":[]}')


def write_task(
    sessions: Sessions,
    settings: Settings,
    task_id: int,
    zf: zipfile.ZipFile,
    prefix: str = "",
    progress: Progress = _noop,
    *,
    media_files: bool = True,
) -> None:
    """Write one task's backup (task.json, annotations.json, data/) under ``prefix``.

    Without ``media_files`` data/ holds only the manifest (an annotation-only backup).
    """
    with sessions() as session:
        task = session.get(Task, task_id)
        if task is None:
            raise service.ImportFailed("the task was deleted")
        if task.data_state != "ready":
            raise service.ImportFailed(f"task '{task.name}' has no data to back up")
        schema = service.Schema.load(session, project_id=task.project_id, task_id=task.id)
        jobs = tasks.jobs_of(session, task.id)
        frames = media.frames_of(session, task.id)
        _write_json(zf, f"{prefix}task.json", _task_json(session, task, schema, jobs, frames))
        names = service.Names(schema)
        zi = zipfile.ZipInfo(f"{prefix}annotations.json", date_time=(1980, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_DEFLATED
        conn = session.connection()
        with zf.open(zi, "w", force_zip64=True) as out:
            out.write(b"[")
            for i, job in enumerate(jobs):
                if i:
                    out.write(b",")
                _write_job_annotations(out, conn, job.id, names, job.annotation_version)
            out.write(b"]")
    lines = [json.dumps({"version": "1.1"}), json.dumps({"type": "images"})]
    for i, frame in enumerate(frames):
        name = PurePosixPath(frame.name)
        lines.append(
            json.dumps(
                {
                    "name": str(name.with_suffix("")),
                    "extension": name.suffix,
                    "width": frame.width,
                    "height": frame.height,
                    "meta": {"related_images": []},
                }
            )
        )
        if not media_files:
            continue
        zi = zipfile.ZipInfo(f"{prefix}data/{frame.name}", date_time=(1980, 1, 1, 0, 0, 0))
        zi.compress_type = zipfile.ZIP_STORED
        # Share, bucket and video frames are not in the task's media folder: frame_file
        # finds (or fetches, or decodes) each original.
        source = media.frame_file(settings, frame)
        with source.open("rb") as src, zf.open(zi, "w", force_zip64=True) as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if i % 200 == 0:
            progress(i / max(len(frames), 1), f"Copied {i} of {len(frames)} images")
    zf.writestr(f"{prefix}data/manifest.jsonl", "\n".join(lines) + "\n")


def export_task(
    db: Database, settings: Settings, task_id: int, out: IO[bytes], progress: Progress = _noop
) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        write_task(db.session, settings, task_id, zf, "", progress)


def write_project(
    sessions: Sessions,
    settings: Settings,
    project_id: int,
    zf: zipfile.ZipFile,
    progress: Progress = _noop,
    *,
    media_files: bool = True,
) -> list[tuple[str, int]]:
    """Write a project's backup (project.json, task_N/...); returns (folder, task id) pairs."""
    with sessions() as session:
        project = session.get(Project, project_id)
        if project is None:
            raise service.ImportFailed("the project was deleted")
        schema = service.Schema.load(session, project_id=project.id, task_id=None)
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
    _write_json(zf, "project.json", meta)
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
        )
        written.append((f"task_{index}", task_id))
    return written


def export_project(
    db: Database, settings: Settings, project_id: int, out: IO[bytes], progress: Progress = _noop
) -> None:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        write_project(db.session, settings, project_id, zf, progress)


# ---- streaming annotations.json -------------------------------------------------------------


class _JsonStream:
    """Just enough of an incremental JSON reader to walk annotations.json object by object.

    A backup of a million shapes is one array of jobs, each with a big "shapes" array;
    decoding it whole would take gigabytes, so values are decoded one at a time.
    """

    def __init__(self, f: IO[str], name: str) -> None:
        self.f = f
        self.name = name
        self.buf = ""
        self.pos = 0
        self.eof = False
        self.decoder = json.JSONDecoder()

    def _more(self) -> bool:
        if self.eof:
            return False
        if self.pos > 1 << 20:
            self.buf, self.pos = self.buf[self.pos :], 0
        chunk = self.f.read(max(1 << 20, len(self.buf)))
        if not chunk:
            self.eof = True
            return False
        self.buf += chunk
        return True

    def peek(self) -> str:
        while True:
            while self.pos < len(self.buf) and self.buf[self.pos] in " \t\r\n":
                self.pos += 1
            if self.pos < len(self.buf):
                return self.buf[self.pos]
            if not self._more():
                return ""

    def expect(self, chars: str) -> str:
        c = self.peek()
        if not c or c not in chars:
            raise FormatError(
                f"{self.name}: malformed JSON, expected one of {chars!r} "
                f"but found {c or 'end of file'!r}"
            )
        self.pos += 1
        return c

    def value(self) -> Any:
        self.peek()
        while True:
            try:
                obj, end = self.decoder.raw_decode(self.buf, self.pos)
            except json.JSONDecodeError as exc:
                if self._more():
                    continue
                raise FormatError(f"{self.name}: malformed JSON ({exc.msg})") from exc
            # a number at the buffer's end may continue in the next chunk
            if end == len(self.buf) and not self.eof and self._more():
                continue
            self.pos = end
            return obj

    def array(self) -> Iterator[None]:
        """Positions at each element of an array in turn (the caller reads it)."""
        self.expect("[")
        if self.peek() == "]":
            self.pos += 1
            return
        while True:
            yield None
            if self.expect(",]") == "]":
                return


def iter_job_annotations(
    f: IO[str], name: str = "annotations.json"
) -> Iterator[tuple[int, str, dict[str, Any]]]:
    """(job index, "tags"|"shapes"|"tracks", object) for each object of annotations.json."""
    stream = _JsonStream(f, name)
    for index, _ in enumerate(stream.array()):
        stream.expect("{")
        if stream.peek() == "}":
            stream.pos += 1
            continue
        while True:
            key = stream.value()
            stream.expect(":")
            if key in ("tags", "shapes", "tracks") and stream.peek() == "[":
                for _ in stream.array():
                    obj = stream.value()
                    if not isinstance(obj, dict):
                        raise FormatError(f"{name}: job {index}: {key} holds a non-object")
                    yield index, key, obj
            else:
                stream.value()
            if stream.expect(",}") == "}":
                break


# ---- restore --------------------------------------------------------------------------------


def _read_json(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise service.ImportFailed(f"{path.name} is missing: not a CVAT backup archive")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise service.ImportFailed(f"{path.name}: malformed JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise service.ImportFailed(f"{path.name}: expected a JSON object")
    version = str(data.get("version", ""))
    if version != VERSION:
        raise service.ImportFailed(
            f"{path.name}: backup version '{version}' is not supported (only {VERSION})"
        )
    return data


def _data_files(data_dir: Path) -> list[Path]:
    """The task's media in frame order: from manifest.jsonl, else sorted image files."""
    manifest = data_dir / "manifest.jsonl"
    files: list[Path] = []
    if manifest.is_file():
        for number, line in enumerate(manifest.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
            except ValueError as exc:
                raise service.ImportFailed(f"manifest.jsonl:{number}: malformed JSON") from exc
            if entry.get("type") == "video":
                raise service.ImportFailed("video tasks cannot be restored yet; only images")
            if "name" in entry:
                files.append(data_dir / f"{entry['name']}{entry.get('extension', '')}")
    else:
        files = sorted(p for p in data_dir.rglob("*") if p.is_file() and media.is_image(p.name))
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise service.ImportFailed(f"data/ lacks images listed in its manifest: {missing[:5]}")
    if not files:
        raise service.ImportFailed("the backup has no images in data/")
    return files


def _segments(jobs: list[dict[str, Any]], size: int) -> tuple[int, int, bool]:
    """segment_size and overlap as CVAT derives them, and whether they reproduce the jobs."""
    if not jobs:
        return 0, 0, True
    first = jobs[0]
    segment_size = int(first["stop_frame"]) - int(first["start_frame"]) + 1
    overlap = 0 if len(jobs) == 1 else int(first["stop_frame"]) - int(jobs[1]["start_frame"]) + 1
    ranges = [(int(j["start_frame"]), int(j["stop_frame"])) for j in jobs]
    same = tasks.segment_ranges(size, segment_size, max(overlap, 0)) == ranges and not any(
        j.get("frames") for j in jobs
    )
    return segment_size, max(overlap, 0), same


def _stage_state(job: dict[str, Any]) -> tuple[str, str]:
    stage, state = job.get("stage"), job.get("state")
    if stage in tasks.STAGES and state in tasks.STATES:
        return stage, state
    status = job.get("status")
    if status == "completed":
        return "acceptance", "completed"
    if status == "validation":
        return "validation", "new"
    return "annotation", "new"


def restore_task_dir(
    db: Database,
    settings: Settings,
    folder: Path,
    owner_id: int,
    project_id: int | None = None,
    progress: Progress = _noop,
) -> int:
    """Create a task from an extracted task backup folder; on failure nothing remains."""
    meta = _read_json(folder / "task.json")
    data = meta.get("data") or {}
    jobs = [j for j in meta.get("jobs") or [] if j.get("type", "annotation") == "annotation"]
    files = _data_files(folder / "data")
    flat = [p.name for p in files]
    dupes = sorted({n for n in flat if flat.count(n) > 1})
    if dupes:
        raise service.ImportFailed(f"data/ has several images named {dupes[:5]} in subfolders")
    start = int(data.get("start_frame") or 0)
    stop = data.get("stop_frame")
    stop = len(flat) - 1 if stop is None else min(int(stop), len(flat) - 1)
    step = 1
    match = re.fullmatch(r"step=(\d+)", str(data.get("frame_filter") or ""))
    if match:
        step = int(match.group(1))
    chosen = flat[start : stop + 1 : step]
    segment_size, overlap, same = _segments(jobs, len(chosen))
    mapping = None
    if not same and jobs:
        mapping = []
        for job in jobs:
            if job.get("files"):
                mapping.append([PurePosixPath(f).name for f in job["files"]])
            elif job.get("frames"):
                mapping.append([chosen[int(f)] for f in job["frames"]])
            else:
                mapping.append(chosen[int(job["start_frame"]) : int(job["stop_frame"]) + 1])
    labels = service.label_writes(meta.get("labels") or [])
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
            raise service.ImportFailed(f"task.json: {exc}") from exc
        task_id = task.id
    try:
        stage = Path(tempfile.mkdtemp(dir=settings.uploads_dir, prefix="restore-"))
        try:
            for path in files:
                shutil.move(str(path), stage / path.name)
            params = media.DataParams(
                image_quality=int(data.get("image_quality") or 70),
                sorting_method="predefined",
                upload_file_order=flat,
                start_frame=start,
                stop_frame=stop,
                frame_filter=f"step={step}" if step > 1 else "",
                chunk_size=data.get("chunk_size") or None,
                job_file_mapping=mapping,
            )
            media.create_data(
                db.session,
                settings,
                task_id,
                [stage / n for n in flat],
                params,
                lambda f, m: progress(0.6 * f, m),
            )
        finally:
            shutil.rmtree(stage, ignore_errors=True)
        with db.session() as session:
            task = session.get(Task, task_id)
            deleted = [int(f) for f in data.get("deleted_frames") or [] if 0 <= int(f) < task.size]
            task.deleted_frames = sorted(set(deleted))
            users = {u.username: u.id for u in session.scalars(select(User))}
            for job_row, job in zip(tasks.jobs_of(session, task_id), jobs, strict=False):
                job_row.stage, job_row.state = _stage_state(job)
                assignee = job.get("assignee")
                if isinstance(assignee, dict):
                    assignee = assignee.get("username")
                if assignee in users:
                    job_row.assignee_id = users[assignee]
        progress(0.7, "Restoring annotations")
        _restore_annotations(db, task_id, folder / "annotations.json")
    except BaseException:
        service.delete_tasks(db, settings, [task_id])
        raise
    return task_id


def _restore_annotations(db: Database, task_id: int, path: Path) -> None:
    if not path.is_file():
        return
    with db.session() as session, path.open(encoding="utf-8") as f:
        task = session.get(Task, task_id)
        jobs = tasks.jobs_of(session, task_id)
        add_annotations(session, task, jobs, iter_job_annotations(f, path.name))


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
    summary = service.ImportSummary()
    labels = service.LabelMap(session, task, ImportedDataset(), False, summary)
    writer: service.Writer | None = None
    current = -1
    for index, kind, obj in objects:
        if index >= len(jobs):
            raise service.ImportFailed(
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
            scope = service.write_scope(session, task, None)
            scope.job_ids, scope.job_of_frame = [job.id], None
            writer = service.Writer(session, scope)
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
            for wire in service.shape_wire(labels, obj, frame, None, False):
                wire["source"] = obj.get("source") or "manual"
                writer.add("shapes", wire, f"{where}, frame {frame}")
        else:
            wire = service.track_wire(labels, obj, lambda f: f, None)
            if wire is not None:
                writer.add("tracks", wire, where)
    if labels.unknown:
        raise service.ImportFailed(
            f"annotations.json uses labels the task does not have: {sorted(labels.unknown)[:20]}"
        )
    if writer is not None:
        writer.flush()


def restore_task(
    db: Database, settings: Settings, archive: Path, owner_id: int, progress: Progress = _noop
) -> int:
    with tempfile.TemporaryDirectory(dir=settings.uploads_dir, prefix="backup-") as tmp:
        root = _extract(archive, Path(tmp))
        return restore_task_dir(db, settings, root, owner_id, None, progress)


def restore_project(
    db: Database, settings: Settings, archive: Path, owner_id: int, progress: Progress = _noop
) -> int:
    with tempfile.TemporaryDirectory(dir=settings.uploads_dir, prefix="backup-") as tmp:
        root = _extract(archive, Path(tmp))
        meta = _read_json(root / "project.json")
        with db.session() as session:
            try:
                project = projects.create_project(
                    session,
                    str(meta.get("name") or "restored project"),
                    owner_id,
                    service.label_writes(meta.get("labels") or []),
                    bug_tracker=str(meta.get("bug_tracker") or ""),
                )
            except projects.LabelError as exc:
                raise service.ImportFailed(f"project.json: {exc}") from exc
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


def discard_project(db: Database, settings: Settings, project_id: int) -> None:
    """Delete a project with its tasks and their media (what undoes a restore)."""
    with db.session() as session:
        task_ids = list(session.scalars(select(Task.id).where(Task.project_id == project_id)))
    service.delete_tasks(db, settings, task_ids)
    with db.session() as session:
        project = session.get(Project, project_id)
        if project is not None:
            projects.delete_project(session, project)


def _extract(archive: Path, dest: Path) -> Path:
    if not zipfile.is_zipfile(archive):
        raise service.ImportFailed(f"{archive.name}: not a zip archive, so not a CVAT backup")
    try:
        safe_extract_zip(archive, dest)
    except FormatError as exc:
        raise service.ImportFailed(str(exc)) from exc
    # some tools wrap the backup in one top folder
    entries = [p for p in dest.iterdir() if not p.name.startswith("__MACOSX")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest
