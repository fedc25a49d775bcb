"""Where a task's files live: raw data, the frame cache, the upload area and cache file names."""

from __future__ import annotations

from pathlib import Path

from labelvault.config import Settings
from labelvault.media.uploads import UploadArea
from labelvault.tasks import service as task_service

MANIFEST = "manifest.jsonl"
VIDEO_INDEX = ".video-index.json"
# A creation in progress stages files here; a folder left behind marks an interrupted one.
STAGING_PREFIX = ".staging-"


def raw_dir(settings: Settings, task_id: int) -> Path:
    """The task's own copies of its files (uploads, downloads, copy_data) and its manifest."""
    return task_service.task_media_dir(settings, task_id) / "raw"


def cache_dir(settings: Settings, task_id: int) -> Path:
    """Derived files (compressed frames, previews, chunks); any of them may be evicted."""
    return task_service.task_media_dir(settings, task_id) / "cache"


def upload_area(settings: Settings, task_id: int) -> UploadArea:
    """Where the files of a data request arrive before the creation takes them."""
    return UploadArea(settings.uploads_dir, f"task-{task_id}-data")


def compressed_path(settings: Settings, task_id: int, number: int, image_quality: int) -> Path:
    return cache_dir(settings, task_id) / f"frame-{number}-q{image_quality}.jpg"


def original_path(settings: Settings, task_id: int, number: int) -> Path:
    """A video frame decoded losslessly (image tasks serve their source file instead)."""
    return cache_dir(settings, task_id) / f"original-{number}.png"


def preview_path(settings: Settings, task_id: int, number: int) -> Path:
    return cache_dir(settings, task_id) / f"preview-{number}.jpg"


def chunk_path(
    settings: Settings, task_id: int, key: str, quality: str, image_quality: int
) -> Path:
    return cache_dir(settings, task_id) / f"chunk-{key}-{quality}-q{image_quality}.zip"
