"""Frames, chunks and previews of a task: (kind, number, quality) -> a file on disk and its ETag.

The one place that knows a served file's version, its cache path and how to build it when
the cache lacks it; endpoints stream the file it names (or answer 304 for a known ETag).
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from PIL import Image
from sqlalchemy import select
from sqlalchemy.orm import Session

from labelvault.config import Settings
from labelvault.errors import Invalid, LabelVaultError, NotFound
from labelvault.media import layout, sources
from labelvault.media.chunks import build_frames_chunk, write_image_chunk
from labelvault.media.images import MediaError, encode_compressed, encode_jpeg, make_preview
from labelvault.media.models import Frame
from labelvault.media.sources import CloudResolver
from labelvault.media.video import VideoReader, is_video_name, load_index
from labelvault.tasks.models import Task

MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".jpe": "image/jpeg",
    ".jfif": "image/jpeg",
    ".png": "image/png",
    ".bmp": "image/bmp",
    ".tif": "image/tiff",
    ".tiff": "image/tiff",
    ".webp": "image/webp",
    ".gif": "image/gif",
}
QUALITIES = ("original", "compressed")
MAX_OPEN_VIDEOS = 8


class FrameError(LabelVaultError):
    """A frame cannot be served: its file is gone (404) or cannot be decoded (422)."""


# ---- the frames of a task -----------------------------------------------------------------


def frames_of(
    session: Session, task_id: int, frames: list[int] | range | None = None
) -> list[Frame]:
    query = select(Frame).where(Frame.task_id == task_id).order_by(Frame.frame)
    if isinstance(frames, range):
        query = query.where(Frame.frame >= frames.start, Frame.frame < frames.stop)
    elif frames is not None:
        query = query.where(Frame.frame.in_(frames))
    return list(session.scalars(query))


def is_video_frame(frame: Frame) -> bool:
    ref, sep, number = frame.path.rpartition("#")
    return bool(sep) and number.isdecimal() and is_video_name(ref)


def source_file(settings: Settings, frame: Frame, clouds: CloudResolver | None = None) -> Path:
    """The local file holding the frame's bytes (a video for video frames)."""
    ref = frame.path.rpartition("#")[0] if is_video_frame(frame) else frame.path
    return sources.resolve(settings, ref, layout.raw_dir(settings, frame.task_id), clouds)


# Open videos are kept (a seek is cheap, an open is not); each reader is used by one thread
# at a time.
_readers: OrderedDict[str, tuple[VideoReader, threading.Lock]] = OrderedDict()
_readers_lock = threading.Lock()


def decode_video_frame(
    settings: Settings, frame: Frame, clouds: CloudResolver | None = None
) -> Image.Image:
    """The frame of a video task, by key-frame seek (never decoding from the start)."""
    number = int(frame.path.rpartition("#")[2])
    path = source_file(settings, frame, clouds)
    key = str(path)
    with _readers_lock:
        entry = _readers.get(key)
        if entry is None:
            index_path = layout.raw_dir(settings, frame.task_id) / layout.VIDEO_INDEX
            index = load_index(index_path) if index_path.exists() else None
            entry = (VideoReader(path, index), threading.Lock())
            _readers[key] = entry
            while len(_readers) > MAX_OPEN_VIDEOS:
                _, (old, old_lock) = _readers.popitem(last=False)
                with old_lock:
                    old.close()
        _readers.move_to_end(key)
    reader, lock = entry
    with lock:
        return reader.read_frame(number)


def frame_file(settings: Settings, frame: Frame, clouds: CloudResolver | None = None) -> Path:
    """A local file with the frame's original image (exports and backups read this).

    Video frames are decoded once into a lossless PNG in the cache. Frames of a cloud
    storage task need `clouds`.
    """
    if not is_video_frame(frame):
        return source_file(settings, frame, clouds)
    target = layout.original_path(settings, frame.task_id, frame.frame)
    if not target.exists():
        buffer = io.BytesIO()
        decode_video_frame(settings, frame, clouds).save(buffer, "PNG", compress_level=1)
        sources.frame_cache(settings).write(target, buffer.getvalue())
    return target


def original_media_type(frame: Frame) -> str:
    if is_video_frame(frame):
        return "image/png"
    return MIME.get(Path(frame.path).suffix.lower(), "application/octet-stream")


# ---- versions -----------------------------------------------------------------------------


def etag(*parts: Any) -> str:
    return (
        '"' + hashlib.blake2s("|".join(map(str, parts)).encode(), digest_size=12).hexdigest() + '"'
    )


def task_version(task: Task) -> str:
    """Changes when the task's id is reused (SQLite) or its data is replaced."""
    created = task.created_date.timestamp() if task.created_date else 0
    return f"{task.id}-{created:.6f}"


# ---- building cached files ----------------------------------------------------------------


def build_compressed(
    settings: Settings, task: Task, frame: Frame, clouds: CloudResolver | None = None
) -> Path:
    """The frame as a JPEG at the task's quality, written to the cache."""
    target = layout.compressed_path(settings, task.id, frame.frame, task.image_quality)
    if is_video_frame(frame):
        data = encode_jpeg(decode_video_frame(settings, frame, clouds), task.image_quality)
    else:
        data = encode_compressed(
            source_file(settings, frame, clouds),
            task.image_quality,
            max_pixels=sources.max_pixels(settings),
        )
    return sources.frame_cache(settings).write(target, data)


def build_preview(
    settings: Settings, task: Task, frame: Frame, clouds: CloudResolver | None = None
) -> Path:
    """A thumbnail of at most 256x256, written to the cache."""
    target = layout.preview_path(settings, task.id, frame.frame)
    if is_video_frame(frame):
        image = decode_video_frame(settings, frame, clouds)
        image.thumbnail((256, 256), Image.Resampling.LANCZOS)
        data = encode_jpeg(image, 85)
    else:
        data = make_preview(
            source_file(settings, frame, clouds), max_pixels=sources.max_pixels(settings)
        )
    return sources.frame_cache(settings).write(target, data)


def build_chunk(
    settings: Settings,
    task: Task,
    frames: list[Frame],
    key: str,
    quality: str,
    clouds: CloudResolver | None = None,
) -> Path:
    """A ZIP 'imageset' chunk (member i is the i-th frame), written to the cache."""
    target = layout.chunk_path(settings, task.id, key, quality, task.image_quality)
    kind = "compressed" if quality == "compressed" else "original"
    cache = sources.frame_cache(settings)
    if frames and is_video_frame(frames[0]):
        data = build_frames_chunk(
            (decode_video_frame(settings, f, clouds) for f in frames),
            quality=kind,
            image_quality=task.image_quality,
        )
        return cache.write(target, data)
    files = [source_file(settings, f, clouds) for f in frames]

    def fill(out: BinaryIO) -> None:
        write_image_chunk(
            out,
            files,
            quality=kind,
            image_quality=task.image_quality,
            max_pixels=sources.max_pixels(settings),
        )

    return cache.write_from(target, fill)


# ---- what a request is served -------------------------------------------------------------


@dataclass(frozen=True)
class Served:
    """One file a data request answers with: its version tag, type, and where it comes from.

    Knowing the ETag needs no file work, so a client that has this version gets its 304
    before anything is read or built.
    """

    etag: str
    media_type: str
    cached: Path | None  # where the derived file sits in the cache (None: not cached)
    build: Callable[[], Path]  # makes the file (or finds the source) when not in the cache

    def file(self) -> tuple[Path, os.stat_result]:
        """The file on disk and its stat, built first when the cache lacks it."""
        try:
            if self.cached is not None:
                try:
                    return self.cached, os.stat(self.cached)
                except FileNotFoundError:
                    pass  # never made, or evicted: build it
            path = self.build()
            return path, os.stat(path)
        except MediaError as exc:
            raise FrameError(f"frame cannot be read: {exc}", 422) from exc
        except (sources.SourceError, FileNotFoundError) as exc:
            raise FrameError(f"the frame's file is missing: {exc}", 404) from exc


def _one_frame(session: Session, task: Task, number: int) -> Frame:
    frames = frames_of(session, task.id, [number])
    if not frames:
        raise NotFound.of("Frame")
    return frames[0]


def locate(
    settings: Settings,
    session: Session,
    task: Task,
    frames_all: list[int] | range,
    data_type: str,
    number: int | None,
    quality: str,
    clouds: CloudResolver | None = None,
) -> Served:
    """What `?type=&number=&quality=` of a task (or of a job: its `frames_all`) is served."""
    if task.data_state != "ready":
        raise Invalid("this task has no data yet")
    if quality not in QUALITIES:
        raise Invalid("quality must be original or compressed")
    version = task_version(task)
    if data_type == "chunk":
        if number is None or number < 0:
            raise Invalid("chunk number is required")
        size = task.chunk_size or 1
        wanted = list(frames_all[number * size : (number + 1) * size])
        if not wanted:
            raise NotFound.of("Chunk")
        key = etag(*wanted).strip('"')
        return Served(
            etag(version, "chunk", key, quality, task.image_quality),
            "application/zip",
            layout.chunk_path(settings, task.id, key, quality, task.image_quality),
            lambda: build_chunk(
                settings, task, frames_of(session, task.id, wanted), key, quality, clouds
            ),
        )
    if data_type in ("frame", "preview"):
        if data_type == "preview" and number is None:
            number = frames_all[0] if len(frames_all) else 0
        if number is None or number not in frames_all:
            raise Invalid(f"frame number must be within {frames_all[0]}..{frames_all[-1]}")
        at = number
        if data_type == "preview":
            return Served(
                etag(version, "preview", at),
                "image/jpeg",
                layout.preview_path(settings, task.id, at),
                lambda: build_preview(settings, task, _one_frame(session, task, at), clouds),
            )
        if quality == "compressed":
            # The hot path: a cached frame is served without touching the frames table.
            return Served(
                etag(version, "frame", at, task.image_quality),
                "image/jpeg",
                layout.compressed_path(settings, task.id, at, task.image_quality),
                lambda: build_compressed(settings, task, _one_frame(session, task, at), clouds),
            )
        frame = _one_frame(session, task, at)
        return Served(
            etag(version, "original", at, frame.path),
            original_media_type(frame),
            None,
            lambda: frame_file(settings, frame, clouds),
        )
    if data_type == "context_image":
        raise NotFound.of("Context image")
    raise Invalid("type must be frame, chunk, preview or context_image")
