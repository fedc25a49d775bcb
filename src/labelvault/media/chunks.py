"""ZIP "imageset" chunks: consecutive frames as the members of an uncompressed zip."""

from __future__ import annotations

import io
import os
import zipfile
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import BinaryIO, Literal

from PIL import Image

from labelvault.media.images import (
    DEFAULT_MAX_PIXELS,
    encode_jpeg,
    load_frame,
    probe_image,
)

Quality = Literal["original", "compressed"]

# Formats a browser's createImageBitmap and Pillow both decode, so original bytes can go into
# an original-quality chunk untouched. TIFF is not among them.
_PASSTHROUGH_FORMATS = frozenset({"JPEG", "PNG", "BMP", "WEBP", "GIF"})


def member_name(frame: int, extension: str) -> str:
    """CVAT's chunk member name: the frame number, zero-padded to 6 digits."""
    return f"{frame:06d}{extension.lower()}"


def _encode_png(im: Image.Image) -> bytes:
    buf = io.BytesIO()
    # Level 1: original chunks are built on request, and speed matters more than bytes.
    im.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def _write_zip(
    out: BinaryIO | str | os.PathLike[str],
    members: Iterable[tuple[str, bytes | Path]],
) -> None:
    # ZIP_STORED: members are already compressed images; deflating them again costs CPU
    # and gains nothing. Order of writing is infolist() order, which clients take as
    # frame order.
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_STORED) as zf:
        for name, data in members:
            if isinstance(data, Path):
                zf.write(data, arcname=name)
            else:
                zf.writestr(name, data)


def _image_members(
    frame_files: Sequence[str | os.PathLike[str]],
    start: int,
    quality: Quality,
    image_quality: int,
    max_pixels: int,
) -> Iterable[tuple[str, bytes | Path]]:
    for i, path in enumerate(frame_files):
        frame = start + i
        if quality == "compressed":
            im = load_frame(path, max_pixels=max_pixels)
            yield member_name(frame, ".jpeg"), encode_jpeg(im, image_quality)
            continue
        info = probe_image(path, max_pixels=max_pixels)
        if info.orientation == 1 and info.format in _PASSTHROUGH_FORMATS:
            yield member_name(frame, Path(path).suffix or ".img"), Path(path)
        else:
            # Readers of chunks (cvat-sdk, browsers' canvas) do not all apply EXIF
            # orientation, and annotations are in displayed coordinates: store the pixels
            # as displayed, losslessly.
            yield member_name(frame, ".png"), _encode_png(load_frame(path, max_pixels=max_pixels))


def write_image_chunk(
    out: BinaryIO | str | os.PathLike[str],
    frame_files: Sequence[str | os.PathLike[str]],
    *,
    start: int = 0,
    quality: Quality = "original",
    image_quality: int = 70,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> None:
    """Write the chunk of ``frame_files`` (frames start, start+1, ...) to a file or stream.

    Original quality keeps each file's bytes when every reader shows them as the task
    does; otherwise (EXIF-rotated, TIFF) the displayed pixels go in as PNG. Compressed
    quality re-encodes every frame as JPEG at ``image_quality``, like CVAT.
    Raises MediaError (naming the file) for a file that cannot be read.
    """
    if isinstance(out, (str, os.PathLike)):
        # Chunks are cached on disk and served to many clients: never expose half a zip.
        final = Path(out)
        tmp = final.with_name(f".{final.name}.tmp-{os.getpid()}")
        try:
            _write_zip(tmp, _image_members(frame_files, start, quality, image_quality, max_pixels))
            os.replace(tmp, final)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
    else:
        _write_zip(out, _image_members(frame_files, start, quality, image_quality, max_pixels))


def build_image_chunk(
    frame_files: Sequence[str | os.PathLike[str]],
    *,
    start: int = 0,
    quality: Quality = "original",
    image_quality: int = 70,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> bytes:
    """The chunk as bytes; see write_image_chunk."""
    buf = io.BytesIO()
    write_image_chunk(
        buf,
        frame_files,
        start=start,
        quality=quality,
        image_quality=image_quality,
        max_pixels=max_pixels,
    )
    return buf.getvalue()


def build_frames_chunk(
    frames: Iterable[Image.Image],
    *,
    start: int = 0,
    quality: Quality = "original",
    image_quality: int = 70,
) -> bytes:
    """A chunk from decoded frames (e.g. VideoReader.iter_frames): PNG, or JPEG if compressed."""

    def members() -> Iterable[tuple[str, bytes | Path]]:
        for i, im in enumerate(frames):
            if quality == "compressed":
                yield member_name(start + i, ".jpeg"), encode_jpeg(im, image_quality)
            else:
                yield member_name(start + i, ".png"), _encode_png(im)

    buf = io.BytesIO()
    _write_zip(buf, members())
    return buf.getvalue()
