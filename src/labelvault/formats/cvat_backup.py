"""The CVAT v1.0 backup archive layout: task.json/project.json, annotations.json, data/.

Pure: it writes and reads the archive's files from plain dicts; which task or project they
describe, and where the rows come from, is labelvault.datasets.backup's business.
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path, PurePosixPath
from typing import IO, Any

import orjson

from .base import FormatError
from .safety import safe_extract_zip

VERSION = "1.0"
MANIFEST = "manifest.jsonl"
# Fixed timestamps: the same content makes the same archive bytes.
_EPOCH = (1980, 1, 1, 0, 0, 0)

_SHAPE_KEYS = (
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
_KEYFRAME_KEYS = (
    "type",
    "occluded",
    "outside",
    "z_order",
    "rotation",
    "points",
    "frame",
    "attributes",
)


# ---- writing --------------------------------------------------------------------------------


def entry(arcname: str, compress_type: int = zipfile.ZIP_DEFLATED) -> zipfile.ZipInfo:
    """A zip entry with the archive's fixed timestamp."""
    zi = zipfile.ZipInfo(arcname, date_time=_EPOCH)
    zi.compress_type = compress_type
    return zi


def write_json(zf: zipfile.ZipFile, arcname: str, obj: Any) -> None:
    zf.writestr(entry(arcname), orjson.dumps(obj), compress_type=zipfile.ZIP_DEFLATED)


def backup_shape(shape: dict[str, Any]) -> dict[str, Any]:
    """A shape (labels by name) as annotations.json holds it."""
    out = {k: shape[k] for k in _SHAPE_KEYS if k in shape}
    if "score" in shape:
        out["score"] = shape["score"]
    out["elements"] = [backup_shape(e) for e in shape.get("elements") or ()]
    return out


def backup_track(track: dict[str, Any]) -> dict[str, Any]:
    """A track (labels by name) as annotations.json holds it."""
    return {
        "frame": track["frame"],
        "group": track.get("group", 0),
        "source": track.get("source", "manual"),
        "attributes": track.get("attributes", []),
        "label": track["label"],
        "shapes": [{k: s[k] for k in _KEYFRAME_KEYS} for s in track.get("shapes") or ()],
        "elements": [backup_track(e) for e in track.get("elements") or ()],
    }


def write_job_annotations(
    out: IO[bytes],
    version: int,
    tags: Iterable[dict[str, Any]],
    shapes: Iterable[dict[str, Any]],
    tracks: Iterable[dict[str, Any]],
) -> None:
    """One job's element of annotations.json, streamed object by object."""
    out.write(b'{"version":%d,"tags":[' % version)
    for i, tag in enumerate(tags):
        out.write((b"," if i else b"") + orjson.dumps(tag))
    out.write(b'],"shapes":[')
    for i, shape in enumerate(shapes):
        out.write((b"," if i else b"") + orjson.dumps(backup_shape(shape)))
    out.write(b'],"tracks":[')
    for i, track in enumerate(tracks):
        out.write((b"," if i else b"") + orjson.dumps(backup_track(track)))
    out.write(b'],"intervals":[]}')


def manifest_header() -> list[str]:
    return [json.dumps({"version": "1.1"}), json.dumps({"type": "images"})]


def manifest_line(name: str, width: int, height: int) -> str:
    """One image of data/manifest.jsonl."""
    path = PurePosixPath(name)
    return json.dumps(
        {
            "name": str(path.with_suffix("")),
            "extension": path.suffix,
            "width": width,
            "height": height,
            "meta": {"related_images": []},
        }
    )


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


# ---- reading --------------------------------------------------------------------------------


def read_meta(path: Path) -> dict[str, Any]:
    """task.json or project.json, checked to be a v1.0 backup's."""
    if not path.is_file():
        raise FormatError(f"{path.name} is missing: not a CVAT backup archive")
    try:
        data = json.loads(path.read_text("utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise FormatError(f"{path.name}: malformed JSON ({exc})") from exc
    if not isinstance(data, dict):
        raise FormatError(f"{path.name}: expected a JSON object")
    version = str(data.get("version", ""))
    if version != VERSION:
        raise FormatError(
            f"{path.name}: backup version '{version}' is not supported (only {VERSION})"
        )
    return data


def data_files(
    data_dir: Path,
    is_image: Callable[[str], bool],
    is_video: Callable[[str], bool] = lambda name: False,
) -> list[Path]:
    """The task's media in frame order: from manifest.jsonl, else sorted image files.

    A video task's backup holds one video (CVAT's video manifest names it in its
    "properties" line): the list is that one file.
    """
    manifest = data_dir / MANIFEST
    files: list[Path] = []
    if manifest.is_file():
        video = False
        for number, line in enumerate(manifest.read_text("utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError as exc:
                raise FormatError(f"{MANIFEST}:{number}: malformed JSON") from exc
            if item.get("type") == "video":
                video = True
            elif video and isinstance(item.get("properties"), dict):
                files = [data_dir / str(item["properties"].get("name") or "")]
                break
            elif not video and "name" in item:
                files.append(data_dir / f"{item['name']}{item.get('extension', '')}")
        if video and not files:
            files = [p for p in sorted(data_dir.rglob("*")) if p.is_file() and is_video(p.name)]
    else:
        files = sorted(p for p in data_dir.rglob("*") if p.is_file() and is_image(p.name))
        if not files:
            files = [p for p in sorted(data_dir.rglob("*")) if p.is_file() and is_video(p.name)]
    missing = [p.name for p in files if not p.is_file()]
    if missing:
        raise FormatError(f"data/ lacks images listed in its manifest: {missing[:5]}")
    if not files:
        raise FormatError("the backup has no images in data/")
    return files


def extract(archive: Path, dest: Path) -> Path:
    """Unpack a backup archive safely; returns its root (inside a single top folder if any)."""
    if not zipfile.is_zipfile(archive):
        raise FormatError(f"{archive.name}: not a zip archive, so not a CVAT backup")
    safe_extract_zip(archive, dest)
    # some tools wrap the backup in one top folder
    entries = [p for p in dest.iterdir() if not p.name.startswith("__MACOSX")]
    if len(entries) == 1 and entries[0].is_dir():
        return entries[0]
    return dest
