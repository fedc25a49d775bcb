"""Videos (mp4, webm, ...) through PyAV: key-frame index and random frame access."""

from __future__ import annotations

import bisect
import hashlib
import json
import os
import posixpath
from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PIL import Image

from labelvault.media.images import MediaError
from labelvault.media.manifest import KeyFrame, VideoProperties


class _ImportedOnUse:
    """Stands for the `av` module until first used: PyAV costs ~17 MB of resident memory
    per process, which a server that never sees a video should not pay."""

    def __getattr__(self, name: str) -> Any:
        import av as module
        import av.error  # noqa: F401  (av.error.FFmpegError in except clauses)

        globals()["av"] = module
        return getattr(module, name)


if TYPE_CHECKING:
    import av
else:
    av = _ImportedOnUse()

# PIL's ROTATE_n turns counterclockwise, like FFmpeg's display-matrix angle.
_ROTATE = {
    90: Image.Transpose.ROTATE_90,
    180: Image.Transpose.ROTATE_180,
    270: Image.Transpose.ROTATE_270,
}

VIDEO_EXTENSIONS = frozenset({".mp4", ".m4v", ".mov", ".webm", ".mkv", ".avi"})


def is_video_name(name: str) -> bool:
    """True for a file name with a video extension we try to read."""
    return posixpath.splitext(name.replace("\\", "/"))[1].lower() in VIDEO_EXTENSIONS


@dataclass(frozen=True, slots=True)
class VideoIndex:
    """What is needed to serve any frame; built once, mostly by demuxing.

    A CVAT manifest stores size, length and key frames but not ``rotation``: keep it with
    the task's data when rebuilding an index from a manifest.
    """

    width: int
    height: int
    frame_count: int
    time_base: Fraction
    key_frames: tuple[KeyFrame, ...]  # ascending number; the first is frame 0
    # Display-matrix rotation, degrees counterclockwise (phones record portrait video as
    # landscape plus this). width/height and returned frames already have it applied.
    rotation: int = 0

    def properties(self, name: str) -> VideoProperties:
        return VideoProperties(name, self.width, self.height, self.frame_count)


def _open(path: str | os.PathLike[str]) -> tuple[av.container.InputContainer, av.VideoStream]:
    try:
        container = av.open(os.fspath(path), mode="r")
    except FileNotFoundError:
        raise MediaError(path, "does not exist; check the path or upload it again") from None
    except (av.error.FFmpegError, OSError, ValueError) as exc:
        raise MediaError(
            path, f"is not a readable video ({exc}); re-encode it as H.264 mp4 or VP9 webm"
        ) from None
    if not container.streams.video:
        container.close()
        raise MediaError(path, "has no video stream")
    stream = container.streams.video[0]
    stream.thread_type = "AUTO"
    return container, stream


def index_video(path: str | os.PathLike[str], *, checksums: bool = False) -> VideoIndex:
    """Build the key-frame index from packet headers, decoding only the first frame.

    Frame numbers are presentation order (what decoding yields), found by ranking every
    packet's pts, so B-frames do not shift numbers. ``checksums`` adds CVAT's key-frame md5
    (of the decoded RGB pixels), which costs one decode per key frame.
    """
    container, stream = _open(path)
    try:
        all_pts: list[int] = []
        key_pts: list[int] = []
        try:
            for packet in container.demux(stream):
                # Flush packets have no pts; edit-list "discard" packets are decoded but
                # never shown, so they are not frames.
                if packet.size == 0 or packet.is_discard:
                    continue
                if packet.pts is None:
                    raise MediaError(
                        path,
                        "has frames without timestamps; remux it (ffmpeg -i in -c copy out.mp4)",
                    )
                all_pts.append(packet.pts)
                if packet.is_keyframe:
                    key_pts.append(packet.pts)
        except av.error.FFmpegError as exc:
            raise MediaError(path, f"is damaged ({exc}); re-encode or upload it again") from None
        if not all_pts:
            raise MediaError(path, "has no frames")
        all_pts.sort()
        if len(set(all_pts)) != len(all_pts):
            raise MediaError(path, "has duplicate frame timestamps; re-encode it")
        rank = {pts: i for i, pts in enumerate(all_pts)}
        keys = sorted((KeyFrame(rank[p], p) for p in set(key_pts)), key=lambda k: k.number)
        if not keys or keys[0].number != 0:
            raise MediaError(path, "does not start with a key frame; re-encode it")
        width, height = stream.codec_context.width, stream.codec_context.height
        if width <= 0 or height <= 0:
            raise MediaError(path, "has no frame size in its headers; re-encode it")
        # The rotation only shows on decoded frames: decode the first one, nothing more.
        container.seek(keys[0].pts, stream=stream)
        try:
            first = next(container.decode(stream))
        except (StopIteration, av.error.FFmpegError) as exc:
            raise MediaError(path, f"first frame cannot be decoded ({exc})") from None
        rotation = round(first.rotation or 0) % 360
        if rotation in (90, 270):
            width, height = height, width
        time_base = stream.time_base or Fraction(1, 1)
    finally:
        container.close()
    index = VideoIndex(width, height, len(all_pts), time_base, tuple(keys), rotation)
    if checksums:
        with VideoReader(path, index) as reader:
            keys = [
                KeyFrame(
                    k.number, k.pts, hashlib.md5(reader.read_frame(k.number).tobytes()).hexdigest()
                )
                for k in index.key_frames
            ]
        index = VideoIndex(width, height, index.frame_count, time_base, tuple(keys), rotation)
    return index


class _SeekMissed(Exception):
    pass


class VideoReader:
    """Random and sequential frame access to one video; not thread-safe (one per worker).

    ``read_frame(n)`` seeks to the key frame at or before n and decodes forward from it, or
    keeps decoding when n is ahead of the last frame read within the same key-frame group,
    so reading frames in order costs one decode per frame.
    """

    def __init__(self, path: str | os.PathLike[str], index: VideoIndex | None = None):
        self.path = path
        self.index = index or index_video(path)
        self._key_numbers = [k.number for k in self.index.key_frames]
        self._container, self._stream = _open(path)
        self._frames: Iterator[tuple[int, av.VideoFrame]] | None = None
        self._next = 0  # number of the frame self._frames yields next

    def __enter__(self) -> VideoReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._frames = None
        self._container.close()

    @property
    def frame_count(self) -> int:
        return self.index.frame_count

    @property
    def size(self) -> tuple[int, int]:
        return self.index.width, self.index.height

    def _key_for(self, n: int) -> int:
        return bisect.bisect_right(self._key_numbers, n) - 1

    def _decode_from(
        self, key: KeyFrame, *, seek: bool = True
    ) -> Iterator[tuple[int, av.VideoFrame]]:
        if seek:
            self._container.seek(key.pts, stream=self._stream, backward=True, any_frame=False)
        number = key.number
        started = False
        for frame in self._container.decode(self._stream):
            if frame.pts is None or frame.pts < key.pts:
                continue  # an earlier group the demuxer landed in, or open-GOP leftovers
            if not started and frame.pts != key.pts:
                raise _SeekMissed
            started = True
            yield number, frame
            number += 1

    def _position(self, n: int) -> None:
        k = self._key_for(n)
        if self._frames is not None and self._next <= n and self._key_for(self._next) == k:
            return
        for i in range(k, -1, -1):
            self._frames = self._decode_from(self.index.key_frames[i])
            try:
                first = next(self._frames)
            except (_SeekMissed, StopIteration):
                continue
            self._frames = _prepend(first, self._frames)
            self._next = first[0]
            return
        # The container's seeking is broken for this file: decode from the very start once.
        self._container.close()
        self._container, self._stream = _open(self.path)
        self._frames = self._decode_from(self.index.key_frames[0], seek=False)
        self._next = 0

    def read_av_frame(self, n: int) -> av.VideoFrame:
        """The decoded PyAV frame ``n`` (0-based, presentation order), not rotated."""
        if not 0 <= n < self.index.frame_count:
            raise IndexError(f"frame {n} is outside 0..{self.index.frame_count - 1}")
        self._position(n)
        assert self._frames is not None
        try:
            for number, frame in self._frames:
                self._next = number + 1
                if number == n:
                    return frame
        except av.error.FFmpegError as exc:
            self._frames = None
            raise MediaError(self.path, f"frame {n} cannot be decoded ({exc})") from None
        self._frames = None
        raise MediaError(
            self.path, f"ended before frame {n} (index says {self.index.frame_count} frames)"
        )

    def read_frame(self, n: int) -> Image.Image:
        """Frame ``n`` as an RGB image, as displayed (rotation applied)."""
        image = self.read_av_frame(n).to_image()
        if self.index.rotation in _ROTATE:
            image = image.transpose(_ROTATE[self.index.rotation])
        return image

    def iter_frames(self, start: int = 0, stop: int | None = None) -> Iterator[Image.Image]:
        """Frames start..stop-1 as RGB images, decoding each once."""
        stop = self.index.frame_count if stop is None else min(stop, self.index.frame_count)
        for n in range(start, stop):
            yield self.read_frame(n)


def _prepend(first: tuple[int, av.VideoFrame], rest: Iterator[tuple[int, av.VideoFrame]]):
    yield first
    yield from rest


def save_index(path: Path, index: VideoIndex, ref: str) -> None:
    """Keep a task's index next to its data, so serving never re-demuxes the video."""
    data = {
        "ref": ref,
        "width": index.width,
        "height": index.height,
        "frame_count": index.frame_count,
        "time_base": [index.time_base.numerator, index.time_base.denominator],
        "rotation": index.rotation,
        "key_frames": [[k.number, k.pts] for k in index.key_frames],
    }
    path.write_text(json.dumps(data))


def load_index(path: Path) -> VideoIndex:
    data = json.loads(path.read_text())
    return VideoIndex(
        width=data["width"],
        height=data["height"],
        frame_count=data["frame_count"],
        time_base=Fraction(*data["time_base"]),
        key_frames=tuple(KeyFrame(n, p) for n, p in data["key_frames"]),
        rotation=data["rotation"],
    )
