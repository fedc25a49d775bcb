"""CVAT-format manifest.jsonl for image sets and videos, written and read as streams."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import orjson

from labelvault.media.images import ImageInfo, MediaError

MANIFEST_NAME = "manifest.jsonl"
MANIFEST_VERSION = "1.1"
_READ_VERSIONS = ("1.0", "1.1")


@dataclass(frozen=True, slots=True)
class ImageEntry:
    """One image line; ``name`` has no extension and uses '/' between folders."""

    name: str
    extension: str  # with the dot, case kept, "" when the file has none
    width: int
    height: int
    # CVAT's checksum is the md5 of the decoded pixels, so we only write one when given.
    checksum: str | None = None
    meta: dict[str, Any] | None = None  # e.g. {"related_images": [...]}

    @property
    def filename(self) -> str:
        return self.name + self.extension

    @classmethod
    def from_file(
        cls, relpath: str, info: ImageInfo, *, checksum: str | None = None, meta: dict | None = None
    ) -> ImageEntry:
        """Entry for a file at ``relpath`` (relative to the task's data root)."""
        name, extension = split_name(relpath)
        return cls(name, extension, info.width, info.height, checksum, meta)


@dataclass(frozen=True, slots=True)
class KeyFrame:
    number: int  # frame number in presentation order
    pts: int  # in the video stream's time base
    checksum: str | None = None


@dataclass(frozen=True, slots=True)
class VideoProperties:
    name: str  # the video file's base name
    width: int
    height: int
    length: int  # frame count
    extra: dict[str, Any] = field(default_factory=dict)  # unknown keys, kept for round trips


def split_name(relpath: str) -> tuple[str, str]:
    """('dir/img', '.jpg') from 'dir/img.jpg' (backslashes become '/'), as CVAT splits it."""
    relpath = relpath.replace("\\", "/")
    return posixpath.splitext(relpath)


def _dumps(obj: dict[str, Any]) -> bytes:
    return orjson.dumps(obj) + b"\n"


def _write_atomically(path: str | os.PathLike[str], lines: Iterable[bytes]) -> None:
    # A manifest is the task's list of frames: a reader must never see half of one.
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as fp:
            for line in lines:
                fp.write(line)
            fp.flush()
            os.fsync(fp.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _image_lines(entries: Iterable[ImageEntry]) -> Iterator[bytes]:
    yield _dumps({"version": MANIFEST_VERSION})
    yield _dumps({"type": "images"})
    for e in entries:
        item: dict[str, Any] = {
            "name": e.name,
            "extension": e.extension,
            "width": e.width,
            "height": e.height,
        }
        if e.meta is not None:
            item["meta"] = e.meta
        if e.checksum is not None:
            item["checksum"] = e.checksum
        yield _dumps(item)


def write_image_manifest(path: str | os.PathLike[str], entries: Iterable[ImageEntry]) -> None:
    """Write an image manifest from any iterable (consumed once, never held in memory)."""
    _write_atomically(path, _image_lines(entries))


def write_video_manifest(
    path: str | os.PathLike[str], properties: VideoProperties, key_frames: Iterable[KeyFrame]
) -> None:
    """Write a video manifest: version, type, properties, then one line per key frame."""

    def lines() -> Iterator[bytes]:
        yield _dumps({"version": MANIFEST_VERSION})
        yield _dumps({"type": "video"})
        props = {
            **properties.extra,
            "name": properties.name,
            "resolution": [properties.width, properties.height],
            "length": properties.length,
        }
        yield _dumps({"properties": props})
        for k in key_frames:
            item: dict[str, Any] = {"number": k.number, "pts": k.pts}
            if k.checksum is not None:
                item["checksum"] = k.checksum
            yield _dumps(item)

    _write_atomically(path, lines())


class _Lines:
    """Numbered, parsed JSON lines with errors that name the manifest and the line."""

    def __init__(self, path: str | os.PathLike[str], fp: IO[bytes]):
        self.path = path
        self.fp = fp
        self.number = 0

    def error(self, problem: str) -> MediaError:
        return MediaError(
            self.path, f"line {self.number}: {problem}; fix or regenerate the manifest"
        )

    def next(self) -> dict[str, Any] | None:
        for raw in self.fp:
            self.number += 1
            if not raw.strip():
                continue
            try:
                obj = orjson.loads(raw)
            except orjson.JSONDecodeError as exc:
                raise self.error(f"is not valid JSON ({exc})") from None
            if not isinstance(obj, dict):
                raise self.error("is not a JSON object")
            return obj
        return None

    def header(self, expected_type: str) -> None:
        version = self.next()
        if version is None or version.get("version") not in _READ_VERSIONS:
            raise self.error(f'must be {{"version": "{MANIFEST_VERSION}"}}')
        kind = self.next()
        if kind is None or kind.get("type") != expected_type:
            got = None if kind is None else kind.get("type")
            raise self.error(f'must be {{"type": "{expected_type}"}}, got type {got!r}')


def _int(lines: _Lines, obj: dict[str, Any], key: str, minimum: int) -> int:
    value = obj.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise lines.error(f"{key!r} must be an integer >= {minimum}, got {value!r}")
    return value


def manifest_type(path: str | os.PathLike[str]) -> str:
    """'images' or 'video' from a manifest's second line."""
    with open(path, "rb") as fp:
        lines = _Lines(path, fp)
        lines.next()
        kind = lines.next()
        if kind is None or kind.get("type") not in ("images", "video"):
            raise lines.error('must be {"type": "images"} or {"type": "video"}')
        return kind["type"]


def read_image_manifest(path: str | os.PathLike[str]) -> Iterator[ImageEntry]:
    """Yield the entries of an image manifest one by one, validating each line."""
    with open(path, "rb") as fp:
        lines = _Lines(path, fp)
        lines.header("images")
        while (obj := lines.next()) is not None:
            name, ext = obj.get("name"), obj.get("extension")
            if not isinstance(name, str) or not name:
                raise lines.error(f"'name' must be a non-empty string, got {name!r}")
            if not isinstance(ext, str):
                raise lines.error(f"'extension' must be a string, got {ext!r}")
            checksum, meta = obj.get("checksum"), obj.get("meta")
            if checksum is not None and not isinstance(checksum, str):
                raise lines.error(f"'checksum' must be a string, got {checksum!r}")
            if meta is not None and not isinstance(meta, dict):
                raise lines.error(f"'meta' must be an object, got {meta!r}")
            yield ImageEntry(
                name,
                ext,
                _int(lines, obj, "width", 1),
                _int(lines, obj, "height", 1),
                checksum,
                meta,
            )


def read_video_manifest(
    path: str | os.PathLike[str],
) -> tuple[VideoProperties, Iterator[KeyFrame]]:
    """The video's properties and a lazy iterator over its key frames (in file order)."""
    fp = open(path, "rb")  # noqa: SIM115 - owned by the generator below
    try:
        lines = _Lines(path, fp)
        lines.header("video")
        obj = lines.next()
        props = None if obj is None else obj.get("properties")
        if not isinstance(props, dict):
            raise lines.error('must be {"properties": {"name", "resolution", "length"}}')
        res = props.get("resolution")
        if (
            not isinstance(res, list)
            or len(res) != 2
            or not all(isinstance(v, int) and v > 0 for v in res)
        ):
            raise lines.error(f"'resolution' must be [width, height], got {res!r}")
        name = props.get("name")
        if not isinstance(name, str):
            raise lines.error(f"'name' must be a string, got {name!r}")
        extra = {k: v for k, v in props.items() if k not in ("name", "resolution", "length")}
        properties = VideoProperties(name, res[0], res[1], _int(lines, props, "length", 0), extra)
    except BaseException:
        fp.close()
        raise

    def key_frames() -> Iterator[KeyFrame]:
        with fp:
            while (item := lines.next()) is not None:
                checksum = item.get("checksum")
                if checksum is not None and not isinstance(checksum, str):
                    raise lines.error(f"'checksum' must be a string, got {checksum!r}")
                yield KeyFrame(
                    _int(lines, item, "number", 0), _int(lines, item, "pts", -(2**63)), checksum
                )

    return properties, key_frames()
