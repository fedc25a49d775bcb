"""Names other domains used from the old media service, kept until they import the new modules.

formats and datasets read frames and create task data through these; new code imports
`labelvault.media.frames`, `.ingest`, `.layout` and `.params` directly.
"""

from __future__ import annotations

from labelvault.media.frames import frame_file, frames_of
from labelvault.media.images import is_image_name as is_image
from labelvault.media.ingest import cleanup_interrupted, create_data, write_manifest
from labelvault.media.layout import raw_dir
from labelvault.media.params import DataError, DataParams

__all__ = [
    "DataError",
    "DataParams",
    "cleanup_interrupted",
    "create_data",
    "frame_file",
    "frames_of",
    "is_image",
    "raw_dir",
    "write_manifest",
]
