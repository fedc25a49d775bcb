"""Rules of task data: turning uploaded files into frames, jobs and a manifest; reading frames."""

from __future__ import annotations

import io
import json
import random
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, UnidentifiedImageError
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from labelvault.config import Settings
from labelvault.db.base import utcnow
from labelvault.media.models import Frame
from labelvault.tasks import service as task_service
from labelvault.tasks.models import Job, Task

IMAGE_EXTENSIONS = {".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp", ".gif", ".jfif"}
SORTING_METHODS = ("lexicographical", "natural", "predefined", "random")
MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jfif": "image/jpeg",
    ".png": "image/png",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".gif": "image/gif",
}


class DataError(ValueError):
    """Uploaded data cannot become a task; the message names the file and what to fix."""


def _or(value: int | None, default: int) -> int:
    return default if value is None else value


@dataclass
class DataParams:
    image_quality: int = 70
    sorting_method: str = "lexicographical"
    start_frame: int = 0
    stop_frame: int | None = None
    frame_filter: str = ""
    chunk_size: int | None = None
    upload_file_order: list[str] | None = None
    job_file_mapping: list[list[str]] | None = None
    seed: int = 0

    @classmethod
    def from_request(cls, raw: dict[str, Any]) -> DataParams:
        def integer(key: str, default: int | None) -> int | None:
            value = raw.get(key, default)
            if value is None or value == "":
                return default
            try:
                return int(value)
            except (TypeError, ValueError) as exc:
                raise DataError(f"{key} must be an integer, not {value!r}") from exc

        params = cls(
            image_quality=_or(integer("image_quality", 70), 70),
            sorting_method=str(raw.get("sorting_method") or "lexicographical"),
            start_frame=_or(integer("start_frame", 0), 0),
            stop_frame=integer("stop_frame", None),
            frame_filter=str(raw.get("frame_filter") or ""),
            chunk_size=integer("chunk_size", None),
            upload_file_order=raw.get("upload_file_order") or None,
            job_file_mapping=raw.get("job_file_mapping") or None,
        )
        if not 1 <= params.image_quality <= 100:
            raise DataError("image_quality must be between 1 and 100")
        if params.sorting_method not in SORTING_METHODS:
            raise DataError(f"sorting_method must be one of {', '.join(SORTING_METHODS)}")
        if params.frame_filter and not re.fullmatch(r"step=[1-9]\d*", params.frame_filter):
            raise DataError("frame_filter must look like step=N with N ≥ 1")
        if params.chunk_size is not None and params.chunk_size < 1:
            raise DataError("chunk_size must be positive")
        if params.start_frame < 0:
            raise DataError("start_frame must not be negative")
        if params.stop_frame is not None and params.stop_frame < params.start_frame:
            raise DataError("stop_frame must not be before start_frame")
        return params

    @property
    def step(self) -> int:
        return int(self.frame_filter.split("=")[1]) if self.frame_filter else 1


def is_image(name: str) -> bool:
    return Path(name).suffix.lower() in IMAGE_EXTENSIONS


def probe(path: Path, name: str) -> tuple[int, int]:
    """Width and height from the file header, without decoding pixels."""
    try:
        with Image.open(path) as image:
            width, height = image.size
            orientation = image.getexif().get(0x0112, 1) if hasattr(image, "getexif") else 1
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DataError(f"'{name}' is not a readable image ({exc}); remove or replace it") from exc
    except Image.DecompressionBombError as exc:
        raise DataError(f"'{name}' has too many pixels to annotate safely") from exc
    if orientation in (5, 6, 7, 8):
        width, height = height, width
    return width, height


def _natural_key(name: str) -> list[Any]:
    return [int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", name)]


def sort_names(names: list[str], params: DataParams, seed: int) -> list[str]:
    method = params.sorting_method
    if method == "lexicographical":
        return sorted(names)
    if method == "natural":
        return sorted(names, key=_natural_key)
    if method == "random":
        shuffled = sorted(names)
        random.Random(seed).shuffle(shuffled)
        return shuffled
    order = params.upload_file_order or names
    basenames = {Path(n).name: n for n in names}
    missing = [n for n in order if n not in basenames and n not in names]
    if missing:
        raise DataError(f"upload_file_order names files that were not uploaded: {missing[:5]}")
    ordered = [basenames.get(n, n) for n in order]
    rest = [n for n in names if n not in ordered]
    return ordered + rest


def default_chunk_size(width: int, height: int) -> int:
    # CVAT's rule: about 36 Full-HD frames' worth of pixels per chunk, 2..72 frames.
    area = max(1, width * height)
    return max(2, min(72, int(36 * 1920 * 1080 / area)))


def raw_dir(settings: Settings, task_id: int) -> Path:
    return task_service.task_media_dir(settings, task_id) / "raw"


def cache_dir(settings: Settings, task_id: int) -> Path:
    return task_service.task_media_dir(settings, task_id) / "cache"


def create_data(
    session_factory: Callable[[], Any],
    settings: Settings,
    task_id: int,
    files: list[Path],
    params: DataParams,
    progress: Callable[[float, str], None],
) -> int:
    """Turn uploaded files into the task's frames and jobs; all or nothing.

    Files are probed (headers only), ordered, filtered, moved into the task's media folder
    and recorded with their sizes in one transaction. On any error the media folder is
    removed and the task is left without data.
    """
    images = [f for f in files if is_image(f.name)]
    others = [f.name for f in files if not is_image(f.name)]
    if others:
        raise DataError(
            f"unsupported files: {', '.join(others[:5])}; upload images "
            f"({', '.join(sorted(IMAGE_EXTENSIONS))})"
        )
    if not images:
        raise DataError("no images were uploaded")
    by_name = {f.name: f for f in images}
    names = sort_names(list(by_name), params, seed=task_id)
    stop = len(names) - 1 if params.stop_frame is None else min(params.stop_frame, len(names) - 1)
    if params.start_frame > stop:
        raise DataError(f"start_frame {params.start_frame} is after stop_frame {stop}")
    chosen = names[params.start_frame : stop + 1 : params.step]
    sizes = []
    for index, name in enumerate(chosen):
        sizes.append(probe(by_name[name], name))
        if index % 200 == 0:
            progress(0.8 * index / len(chosen), f"Reading image {index + 1} of {len(chosen)}")
    target = raw_dir(settings, task_id)
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    try:
        for name in chosen:
            by_name[name].rename(target / name)
        rows = [
            {"task_id": task_id, "frame": i, "name": name, "path": name, "width": w, "height": h}
            for i, (name, (w, h)) in enumerate(zip(chosen, sizes, strict=True))
        ]
        write_manifest(target / "manifest.jsonl", rows)
        progress(0.9, "Creating jobs")
        with session_factory() as session:
            task = session.get(Task, task_id)
            if task is None:
                raise DataError("the task was deleted while its data was being prepared")
            if task.data_state == "ready":
                raise DataError("this task already has data")
            session.execute(delete(Frame).where(Frame.task_id == task_id))
            session.execute(insert(Frame), rows)
            task.size = len(rows)
            task.mode = "annotation"
            task.image_quality = params.image_quality
            task.chunk_size = params.chunk_size or default_chunk_size(*sizes[0])
            task.start_frame = params.start_frame
            task.stop_frame = stop
            task.frame_filter = params.frame_filter
            task.sorting_method = params.sorting_method
            task.storage = "local"
            task.data_state = "ready"
            if task.overlap is None:
                task.overlap = 0
            mapping = None
            if params.job_file_mapping:
                index = {name: i for i, name in enumerate(chosen)}
                mapping = []
                for files_of_job in params.job_file_mapping:
                    unknown = [n for n in files_of_job if n not in index]
                    if unknown:
                        raise DataError(f"job_file_mapping names unknown files: {unknown[:5]}")
                    mapping.append([index[n] for n in files_of_job])
            task_service.create_jobs(session, task, mapping)
            task_service.touch(session, task)
    except BaseException:
        shutil.rmtree(target, ignore_errors=True)
        raise
    return len(rows)


def write_manifest(path: Path, rows: list[dict[str, Any]]) -> None:
    """CVAT's manifest.jsonl for an image set, so backups and CVAT read our data."""
    with path.open("w") as out:
        out.write(json.dumps({"version": "1.1"}) + "\n")
        out.write(json.dumps({"type": "images"}) + "\n")
        for row in rows:
            name = Path(row["name"])
            out.write(
                json.dumps(
                    {
                        "name": str(name.with_suffix("")),
                        "extension": name.suffix,
                        "width": row["width"],
                        "height": row["height"],
                    }
                )
                + "\n"
            )


def frames_of(
    session: Session, task_id: int, frames: list[int] | range | None = None
) -> list[Frame]:
    query = select(Frame).where(Frame.task_id == task_id).order_by(Frame.frame)
    if isinstance(frames, range):
        query = query.where(Frame.frame >= frames.start, Frame.frame < frames.stop)
    elif frames is not None:
        query = query.where(Frame.frame.in_(frames))
    return list(session.scalars(query))


def frame_file(settings: Settings, frame: Frame) -> Path:
    return raw_dir(settings, frame.task_id) / frame.path


def compressed_frame(settings: Settings, frame: Frame, quality: int) -> Path:
    """A JPEG of the frame at the task's quality, made once and kept in the cache."""
    target = cache_dir(settings, frame.task_id) / f"frame-{frame.frame}-q{quality}.jpg"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(frame_file(settings, frame)) as image:
        from PIL import ImageOps

        image = ImageOps.exif_transpose(image)
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        buffer = io.BytesIO()
        image.save(buffer, "JPEG", quality=quality)
    tmp = target.with_suffix(".tmp")
    tmp.write_bytes(buffer.getvalue())
    tmp.rename(target)
    return target


def preview(settings: Settings, frame: Frame, max_side: int = 256) -> Path:
    target = cache_dir(settings, frame.task_id) / f"preview-{frame.frame}.jpg"
    if target.exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with Image.open(frame_file(settings, frame)) as image:
        from PIL import ImageOps

        image = ImageOps.exif_transpose(image)
        image.thumbnail((max_side, max_side))
        if image.mode not in ("RGB", "L"):
            image = image.convert("RGB")
        tmp = target.with_suffix(".tmp")
        image.save(tmp, "JPEG", quality=80)
    tmp.rename(target)
    return target


def chunk_bytes(settings: Settings, frames: list[Frame], quality: str, image_quality: int) -> bytes:
    """A ZIP 'imageset' chunk: member i is the i-th frame, as cvat-sdk expects."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for index, frame in enumerate(frames):
            if quality == "original":
                path = frame_file(settings, frame)
                archive.write(path, f"{index:06d}{Path(frame.path).suffix.lower()}")
            else:
                archive.write(compressed_frame(settings, frame, image_quality), f"{index:06d}.jpg")
    return buffer.getvalue()


def meta_json(
    task: Task, frames: list[Frame], start: int, stop: int, included: list[int] | None = None
) -> dict[str, Any]:
    return {
        "chunk_size": task.chunk_size,
        "size": task.size,
        "image_quality": task.image_quality,
        "start_frame": start,
        "stop_frame": stop,
        "frame_filter": task.frame_filter,
        "frames": [
            {
                "width": f.width,
                "height": f.height,
                "name": f.name,
                "related_files": 0,
                "has_related_context": False,
            }
            for f in frames
        ],
        "deleted_frames": list(task.deleted_frames or []),
        "included_frames": included,
        "chunks_updated_date": (task.updated_date or utcnow()).isoformat(),
        "storage": task.storage,
        "storage_method": "cache",
        "sorting_method": task.sorting_method,
        "cloud_storage_id": None,
        "chapters": None,
    }


def job_chunk_frames(job: Job, number: int, chunk_size: int) -> list[int]:
    frames = list(task_service.job_frames(job))
    return frames[number * chunk_size : (number + 1) * chunk_size]
