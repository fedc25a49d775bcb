"""Project/task backup zips: CVAT's v1.0 backup layout (full) and annotation-only, and restore.

A full backup is what CVAT's "Backup" action writes (project.json, task_N/task.json,
task_N/annotations.json, task_N/data/ with manifest.jsonl and the images), so it restores
here and in CVAT. An annotation-only backup has the same files without the images, plus
annotations.xml in "CVAT for images 1.1" (which CVAT imports into a project that has the
images) and labelvault.json with the ids that let us put the annotations back in place.

The formats team is writing a general CVAT backup exporter; until it lands this module
writes the archive itself, and `make_project_backup` is the one interface callers use.
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO, Any, BinaryIO

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from labelvault.annotations import service as annotation_service
from labelvault.config import Settings
from labelvault.db.base import iso, utcnow
from labelvault.formats import FrameInfo, LabelDef, SourceMeta, get_exporter
from labelvault.formats.base import AttributeDef
from labelvault.media import service as media_service
from labelvault.media.models import Frame
from labelvault.projects import service as project_service
from labelvault.projects.models import Project
from labelvault.projects.schemas import LabelWrite
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Job, Task

BACKUP_VERSION = "1.0"
KINDS = ("annotations", "full")
XML_FORMAT = "CVAT for images 1.1"
ID_FILE = "labelvault.json"


class BackupFormatError(ValueError):
    """A backup archive cannot be made or read back; the message says what is wrong."""


# ---- labels ------------------------------------------------------------------------------


def _labels_json(session: Session, *, project_id: int | None, task_id: int | None) -> list[dict]:
    labels = project_service.labels_of(session, project_id=project_id, task_id=task_id)
    out = []
    for lbl in project_service.labels_json(session, labels):
        sub = [_label_entry(s) for s in lbl.get("sublabels", [])]
        out.append(_label_entry(lbl) | {"svg": lbl.get("svg") or "", "sublabels": sub})
    return out


def _label_entry(lbl: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": lbl["name"],
        "color": lbl.get("color") or "",
        "type": lbl.get("type") or "any",
        "attributes": [
            {
                "name": a["name"],
                "mutable": a["mutable"],
                "input_type": a["input_type"],
                "default_value": a["default_value"],
                "values": a["values"],
            }
            for a in lbl.get("attributes", [])
        ],
    }


@dataclass
class _LabelMap:
    """Translation between label/attribute ids of this database and names in a backup."""

    by_id: dict[int, project_service.LabelInfo]

    def name_of(self, label_id: int) -> str:
        return self.by_id[label_id].name

    def attr_name(self, label_id: int, spec_id: int) -> str | None:
        info = self.by_id.get(label_id)
        spec = info.attributes.get(spec_id) if info else None
        return spec.name if spec else None

    def id_of(self, name: str, parent_id: int | None) -> int:
        for info in self.by_id.values():
            if info.name == name and info.parent_id == parent_id:
                return info.id
        where = f" under skeleton '{self.by_id[parent_id].name}'" if parent_id else ""
        raise BackupFormatError(f"the backup uses label '{name}'{where}, which does not exist here")

    def spec_of(self, label_id: int, name: str) -> int | None:
        for spec in self.by_id[label_id].attributes.values():
            if spec.name == name:
                return spec.id
        return None


def _label_map(session: Session, task: Task) -> _LabelMap:
    if task.project_id is not None:
        return _LabelMap(project_service.label_infos(session, project_id=task.project_id))
    return _LabelMap(project_service.label_infos(session, task_id=task.id))


# ---- annotations: ids <-> names ------------------------------------------------------------


def _attrs_to_names(m: _LabelMap, label_id: int, attrs: list[dict]) -> list[dict]:
    out = []
    for a in attrs:
        name = m.attr_name(label_id, a["spec_id"])
        if name is not None:
            out.append({"name": name, "value": a["value"]})
    return out


def _obj_to_names(m: _LabelMap, obj: dict[str, Any], label_id: int | None = None) -> dict:
    out = {k: v for k, v in obj.items() if k not in ("id", "label_id", "attributes")}
    label_id = obj.get("label_id", label_id)
    assert label_id is not None
    if "label_id" in obj:
        out["label"] = m.name_of(label_id)
    out["attributes"] = _attrs_to_names(m, label_id, obj.get("attributes", []))
    if "elements" in obj:
        out["elements"] = [_obj_to_names(m, e) for e in obj["elements"]]
    if "shapes" in obj:
        out["shapes"] = [_obj_to_names(m, s, label_id) for s in obj["shapes"]]
    return out


def job_annotations_named(session: Session, m: _LabelMap, job: Job) -> dict[str, Any]:
    """One job's annotations as CVAT's backup writes them: label and attribute names."""
    raw = orjson.loads(annotation_service.read(session, [job.id], job.annotation_version))
    return {
        "version": raw.get("version", 0),
        "tags": [_obj_to_names(m, t) for t in raw["tags"]],
        "shapes": [_obj_to_names(m, s) for s in raw["shapes"]],
        "tracks": [_obj_to_names(m, t) for t in raw["tracks"]],
    }


def _attrs_to_ids(m: _LabelMap, label_id: int, attrs: list[dict]) -> list[dict]:
    out = []
    for a in attrs or []:
        spec = m.spec_of(label_id, a["name"])
        if spec is not None:
            out.append({"spec_id": spec, "value": a["value"]})
    return out


def _obj_to_ids(
    m: _LabelMap, obj: dict[str, Any], parent: int | None = None, label_id: int | None = None
) -> dict:
    out = {k: v for k, v in obj.items() if k not in ("label", "attributes", "elements", "shapes")}
    if "label" in obj:
        label_id = m.id_of(obj["label"], parent)
        out["label_id"] = label_id
    assert label_id is not None
    out["attributes"] = _attrs_to_ids(m, label_id, obj.get("attributes", []))
    if obj.get("elements"):
        out["elements"] = [_obj_to_ids(m, e, parent=label_id) for e in obj["elements"]]
    if "shapes" in obj:
        out["shapes"] = [_obj_to_ids(m, s, label_id=label_id) for s in obj["shapes"]]
    return out


def put_job_annotations(session: Session, task: Task, job: Job, named: dict[str, Any]) -> None:
    """Replace a job's annotations with named ones from a backup; bumps its version."""
    m = _label_map(session, task)
    payload = {
        "version": 0,
        "tags": [_obj_to_ids(m, t) for t in named.get("tags", [])],
        "shapes": [_obj_to_ids(m, s) for s in named.get("shapes", [])],
        "tracks": [_obj_to_ids(m, t) for t in named.get("tracks", [])],
    }
    data = annotation_service.parse(orjson.dumps(payload))
    frames = task_service.job_frames(job)
    scope = annotation_service.Scope(
        job_ids=[job.id],
        labels=m.by_id,
        frame_min=job.start_frame,
        frame_max=job.stop_frame,
        frame_set=frozenset(frames) if job.frames is not None else None,
    )
    try:
        annotation_service.replace(session, scope, data)
    except annotation_service.AnnotationError as exc:
        raise BackupFormatError(f"job {job.id}: {exc.errors[0]}") from exc
    session.execute(
        update(Job).where(Job.id == job.id).values(annotation_version=Job.annotation_version + 1)
    )


# ---- writing -------------------------------------------------------------------------------


def _job_status(job: Job) -> str:
    return task_service.job_status(job.stage, job.state)


def _task_json(session: Session, task: Task, jobs: list[Job], with_labels: bool) -> dict:
    data: dict[str, Any] = {
        "chunk_size": task.chunk_size,
        "image_quality": task.image_quality,
        "start_frame": 0,
        "stop_frame": max(task.size - 1, 0),
        "chunk_type": "imageset",
        "storage_method": "cache",
        "storage": "local",
        "sorting_method": task.sorting_method,
        "deleted_frames": list(task.deleted_frames or []),
    }
    if any(j.frames is not None for j in jobs):
        data["custom_segments"] = True
    out: dict[str, Any] = {
        "name": task.name,
        "bug_tracker": task.bug_tracker or "",
        "status": task_service.task_status([_job_status(j) for j in jobs]),
        "subset": task.subset or "",
        "labels": _labels_json(session, project_id=None, task_id=task.id) if with_labels else [],
        "version": BACKUP_VERSION,
        "data": data,
        "jobs": [],
    }
    for job in jobs:
        entry: dict[str, Any] = {
            "status": _job_status(job),
            "type": job.type,
            "start_frame": job.start_frame,
            "stop_frame": job.stop_frame,
        }
        if job.frames is not None:
            entry["frames"] = list(job.frames)
        out["jobs"].append(entry)
    return out


def _manifest_lines(frames: list[Frame]) -> str:
    lines = [json.dumps({"version": "1.1"}), json.dumps({"type": "images"})]
    for f in frames:
        name = PurePosixPath(f.name)
        lines.append(
            json.dumps(
                {
                    "name": str(name.with_suffix("")),
                    "extension": name.suffix,
                    "width": f.width,
                    "height": f.height,
                }
            )
        )
    return "\n".join(lines) + "\n"


def _tasks_of(session: Session, target_type: str, target_id: int) -> list[Task]:
    if target_type == "task":
        task = session.get(Task, target_id)
        return [task] if task is not None else []
    return list(session.scalars(select(Task).where(Task.project_id == target_id).order_by(Task.id)))


class _Source:
    """The target as a formats ExportSource: frames numbered across tasks, as CVAT does."""

    def __init__(self, session: Session, meta: SourceMeta, labels: list[dict], tasks: list) -> None:
        self.session = session
        self.meta = meta
        self.labels = [_label_def(lbl) for lbl in labels]
        self._tasks = tasks  # (task, jobs, frames, named annotations per job)

    def frames(self) -> Iterator[tuple[FrameInfo, list, list]]:
        offset = 0
        for task, _jobs, frames, named in self._tasks:
            by_frame: dict[int, tuple[list, list]] = {}
            for ann in named:
                for t in ann["tags"]:
                    by_frame.setdefault(t["frame"], ([], []))[0].append(t)
                for s in ann["shapes"]:
                    by_frame.setdefault(s["frame"], ([], []))[1].append(s)
            for f in frames:
                tags, shapes = by_frame.get(f.frame, ([], []))
                info = FrameInfo(offset + f.frame, f.name, f.width, f.height, task.subset or "")
                yield info, [_shift(t, offset) for t in tags], [_shift(s, offset) for s in shapes]
            offset += task.size

    def tracks(self) -> Iterator[dict]:
        offset = 0
        for task, _jobs, _frames, named in self._tasks:
            for ann in named:
                for t in ann["tracks"]:
                    track = _shift(t, offset)
                    track["shapes"] = [_shift(s, offset) for s in t["shapes"]]
                    track["elements"] = [
                        _shift(e, offset) | {"shapes": [_shift(s, offset) for s in e["shapes"]]}
                        for e in t.get("elements", [])
                    ]
                    yield track
            offset += task.size


def _shift(obj: dict, offset: int) -> dict:
    return obj | {"frame": obj["frame"] + offset} if offset and "frame" in obj else dict(obj)


def _label_def(lbl: dict) -> LabelDef:
    return LabelDef(
        name=lbl["name"],
        type=lbl.get("type") or "any",
        color=lbl.get("color") or "",
        attributes=[
            AttributeDef(
                name=a["name"],
                input_type=a["input_type"],
                mutable=a["mutable"],
                values=list(a["values"]),
                default_value=a["default_value"] or "",
            )
            for a in lbl.get("attributes", [])
        ],
        sublabels=[_label_def(s) for s in lbl.get("sublabels", [])],
        svg=lbl.get("svg") or "",
    )


def make_backup(
    session: Session,
    target_type: str,
    target_id: int,
    out: IO[bytes],
    kind: str,
    *,
    media_root: Path | None = None,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """Write a backup zip of a project (or of a task outside a project) to `out`.

    Returns a summary (tasks, jobs, frames). `out` must be seekable (a local file).
    """
    if kind not in KINDS:
        raise BackupFormatError(f"unknown backup kind {kind!r}: use one of {', '.join(KINDS)}")
    if kind == "full" and settings is None:
        raise BackupFormatError("a full backup needs the settings to find the media")
    if target_type == "project":
        project = session.get(Project, target_id)
        if project is None:
            raise BackupFormatError(f"project {target_id} does not exist")
        name, updated = project.name, project.updated_date
        labels = _labels_json(session, project_id=project.id, task_id=None)
    else:
        task = session.get(Task, target_id)
        if task is None or task.project_id is not None:
            raise BackupFormatError(f"task {target_id} does not exist outside a project")
        name, updated = task.name, task.updated_date
        labels = _labels_json(session, project_id=None, task_id=task.id)
    tasks = [t for t in _tasks_of(session, target_type, target_id) if t.data_state == "ready"]
    collected = []
    ids: dict[str, Any] = {
        "format": "labelvault-backup",
        "version": 1,
        "kind": kind,
        "target": {"type": target_type, "id": target_id, "name": name},
        "created": iso(utcnow()),
        "tasks": [],
    }
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, allowZip64=True) as zf:
        if target_type == "project":
            zf.writestr(
                "project.json",
                json.dumps(
                    {
                        "name": name,
                        "bug_tracker": project.bug_tracker or "",
                        "status": "annotation",
                        "labels": labels,
                        "version": BACKUP_VERSION,
                    }
                ),
            )
        for index, task in enumerate(tasks):
            # A task backup has its files at the root; a project backup in task_<index>/.
            prefix = f"task_{index}/" if target_type == "project" else ""
            jobs = task_service.jobs_of(session, task.id)
            frames = media_service.frames_of(session, task.id)
            m = _label_map(session, task)
            named = [job_annotations_named(session, m, j) for j in jobs]
            zf.writestr(
                prefix + "task.json",
                json.dumps(_task_json(session, task, jobs, with_labels=target_type == "task")),
            )
            zf.writestr(
                prefix + "annotations.json",
                json.dumps([n | {"intervals": []} for n in named]),
            )
            zf.writestr(prefix + "data/manifest.jsonl", _manifest_lines(frames))
            if kind == "full":
                assert settings is not None
                for f in frames:
                    source = media_service.frame_file(settings, f)
                    zf.write(source, prefix + "data/" + f.name, compress_type=zipfile.ZIP_STORED)
            ids["tasks"].append(
                {
                    "dir": prefix.rstrip("/"),
                    "id": task.id,
                    "name": task.name,
                    "jobs": [
                        {"id": j.id, "start_frame": j.start_frame, "stop_frame": j.stop_frame}
                        for j in jobs
                    ],
                }
            )
            collected.append((task, jobs, frames, named))
        if kind == "annotations":
            meta = SourceMeta(
                name=name,
                id=target_id,
                size=sum(t.size for t in tasks),
                created=iso(updated) or "",
                updated=iso(updated) or "",
                kind=target_type,
            )
            _write_xml(zf, _Source(session, meta, labels, collected))
        zf.writestr(ID_FILE, json.dumps(ids))
    return {
        "tasks": len(tasks),
        "jobs": sum(len(c[1]) for c in collected),
        "frames": sum(t.size for t in tasks),
    }


def _write_xml(zf: zipfile.ZipFile, source: _Source) -> None:
    with tempfile.TemporaryFile() as tmp:
        get_exporter(XML_FORMAT)(source, tmp, False)
        tmp.seek(0)
        with (
            zipfile.ZipFile(tmp) as xml_zip,
            xml_zip.open("annotations.xml") as xml,
            zf.open("annotations.xml", "w", force_zip64=True) as target,
        ):
            shutil.copyfileobj(xml, target, 1024 * 1024)


def make_project_backup(
    session: Session,
    project_id: int,
    out: IO[bytes],
    kind: str,
    *,
    settings: Settings | None = None,
) -> dict[str, Any]:
    """The interface for callers: a CVAT v1.0 project backup ("full") or annotation-only zip."""
    return make_backup(session, "project", project_id, out, kind, settings=settings)


# ---- reading / restore ---------------------------------------------------------------------


def _read_json(zf: zipfile.ZipFile, name: str) -> Any:
    try:
        return json.loads(zf.read(name))
    except KeyError as exc:
        raise BackupFormatError(f"the backup has no {name}") from exc
    except json.JSONDecodeError as exc:
        raise BackupFormatError(f"{name} in the backup is not valid JSON: {exc}") from exc


def _task_dirs(zf: zipfile.ZipFile) -> list[str]:
    dirs = {m.group(1) for n in zf.namelist() if (m := re.match(r"(task_\d+)/", n))}
    return sorted(dirs, key=lambda d: int(d.split("_")[1]))


def _manifest_frames(zf: zipfile.ZipFile, prefix: str) -> list[tuple[str, int | None, int | None]]:
    try:
        lines = zf.read(prefix + "data/manifest.jsonl").decode().splitlines()
    except KeyError as exc:
        raise BackupFormatError(f"{prefix}data/manifest.jsonl is missing") from exc
    out = []
    for line in lines:
        if not line.strip():
            continue
        item = json.loads(line)
        if "name" in item:
            out.append(
                (item["name"] + item.get("extension", ""), item.get("width"), item.get("height"))
            )
    return out


def _safe_name(name: str) -> str:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts or not path.parts:
        raise BackupFormatError(f"the backup names an unsafe file path {name!r}")
    return path.as_posix()


def _copy_member(zf: zipfile.ZipFile, name: str, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(name) as src, target.open("wb") as dst:
        shutil.copyfileobj(src, dst, 1024 * 1024)


def _job_fields(entry: dict[str, Any]) -> dict[str, Any]:
    status = entry.get("status", "annotation")
    stage = {"annotation": "annotation", "validation": "validation"}.get(status, "acceptance")
    return {
        "start_frame": int(entry["start_frame"]),
        "stop_frame": int(entry["stop_frame"]),
        "frames": entry.get("frames"),
        "stage": stage,
        "state": "completed" if status == "completed" else "new",
        "type": entry.get("type", "annotation"),
    }


def restore_full(
    session: Session,
    settings: Settings,
    archive: BinaryIO | Path,
    owner_id: int | None,
    *,
    into_project: Project | None = None,
    created_dirs: list[Path] | None = None,
) -> Project:
    """Create a project (or refill `into_project`) from a full project backup zip.

    Media go straight to the new tasks' folders, listed in `created_dirs` so the caller can
    remove them if the transaction fails.
    """
    created_dirs = created_dirs if created_dirs is not None else []
    with zipfile.ZipFile(archive) as zf:
        meta = _read_json(zf, "project.json")
        if str(meta.get("version", "1.0")) != BACKUP_VERSION:
            raise BackupFormatError(f"backup version {meta.get('version')!r} is not supported")
        labels = [LabelWrite.model_validate(lbl) for lbl in meta.get("labels", [])]
        if into_project is None:
            project = project_service.create_project(
                session,
                meta.get("name") or "restored project",
                owner_id,  # type: ignore[arg-type]
                labels,
                bug_tracker=meta.get("bug_tracker") or "",
            )
        else:
            project = into_project
            project.name = meta.get("name") or project.name
            project.bug_tracker = meta.get("bug_tracker") or ""
            project_service.create_labels(session, labels, project_id=project.id)
        for task_dir in _task_dirs(zf):
            _restore_task(zf, task_dir + "/", session, settings, project, owner_id, created_dirs)
        project_service.touch(project)
        session.flush()
        return project


def _restore_task(
    zf: zipfile.ZipFile,
    prefix: str,
    session: Session,
    settings: Settings,
    project: Project,
    owner_id: int | None,
    created_dirs: list[Path],
) -> Task:
    meta = _read_json(zf, prefix + "task.json")
    frames = _manifest_frames(zf, prefix)
    names = set(zf.namelist())
    task = task_service.create_task(
        session,
        name=meta.get("name") or "restored task",
        owner_id=owner_id,  # type: ignore[arg-type]
        project=project,
        labels=[],
        bug_tracker=meta.get("bug_tracker") or "",
        subset=meta.get("subset") or "",
    )
    raw = media_service.raw_dir(settings, task.id)
    created_dirs.append(task_service.task_media_dir(settings, task.id))
    raw.mkdir(parents=True, exist_ok=True)
    rows = []
    for index, (name, width, height) in enumerate(frames):
        name = _safe_name(name)
        member = prefix + "data/" + name
        if member not in names:
            raise BackupFormatError(f"{member} is listed in the manifest but missing")
        _copy_member(zf, member, raw / name)
        if width is None or height is None:
            width, height = media_service.probe(raw / name, name)
        rows.append(
            {
                "task_id": task.id,
                "frame": index,
                "name": name,
                "path": name,
                "width": width,
                "height": height,
            }
        )
    media_service.write_manifest(raw / "manifest.jsonl", rows)
    if rows:
        session.add_all(Frame(**r) for r in rows)
    data = meta.get("data", {})
    task.size = len(rows)
    task.mode = "annotation"
    task.image_quality = int(data.get("image_quality") or 70)
    task.chunk_size = data.get("chunk_size") or (
        media_service.default_chunk_size(rows[0]["width"], rows[0]["height"]) if rows else 36
    )
    task.start_frame = 0
    task.stop_frame = max(len(rows) - 1, 0)
    task.sorting_method = data.get("sorting_method") or "lexicographical"
    task.storage = "local"
    task.data_state = "ready"
    task.overlap = task.overlap or 0
    task.deleted_frames = list(data.get("deleted_frames") or [])
    now = utcnow()
    jobs = [
        Job(task_id=task.id, created_date=now, updated_date=now, **_job_fields(j))
        for j in meta.get("jobs", [])
    ]
    if not jobs and rows:
        jobs = [
            Job(
                task_id=task.id,
                start_frame=0,
                stop_frame=len(rows) - 1,
                created_date=now,
                updated_date=now,
            )
        ]
    session.add_all(jobs)
    session.flush()
    annotations = _read_json(zf, prefix + "annotations.json")
    for job, named in zip(jobs, annotations, strict=False):
        put_job_annotations(session, task, job, named)
    return task


def read_ids(archive: BinaryIO | Path) -> dict[str, Any]:
    with zipfile.ZipFile(archive) as zf:
        return _read_json(zf, ID_FILE)


def restore_annotations_in_place(session: Session, archive: BinaryIO | Path) -> dict[str, int]:
    """Put a backup's annotations back into the tasks and jobs they came from.

    Jobs are matched by id, else by frame range; a task that no longer exists is reported
    as skipped. Returns counts of restored jobs and skipped tasks.
    """
    restored = skipped = 0
    with zipfile.ZipFile(archive) as zf:
        ids = _read_json(zf, ID_FILE)
        for entry in ids["tasks"]:
            task = session.get(Task, entry["id"])
            if task is None:
                skipped += 1
                continue
            prefix = entry["dir"] + "/" if entry["dir"] else ""
            annotations = _read_json(zf, prefix + "annotations.json")
            jobs = {j.id: j for j in task_service.jobs_of(session, task.id)}
            by_range = {(j.start_frame, j.stop_frame): j for j in jobs.values()}
            for job_entry, named in zip(entry["jobs"], annotations, strict=False):
                job = jobs.get(job_entry["id"]) or by_range.get(
                    (job_entry["start_frame"], job_entry["stop_frame"])
                )
                if job is None:
                    skipped += 1
                    continue
                put_job_annotations(session, task, job, named)
                restored += 1
            task_service.touch(session, task)
    return {"jobs": restored, "skipped": skipped}
