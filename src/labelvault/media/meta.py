"""The data/meta answer: a task's (or job's) frame sizes, names and chunking, as CVAT sends it."""

from __future__ import annotations

from typing import Any

from labelvault.db.base import utcnow
from labelvault.media.models import Frame
from labelvault.tasks.models import Task


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
        "cloud_storage_id": task.cloud_storage_id,
        "chapters": None,
    }
