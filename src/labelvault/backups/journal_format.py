"""The annotation journal's wire format: entry lines and checksummed, gzipped segments."""

from __future__ import annotations

import gzip
import hashlib
import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson

FORMAT = "labelvault-journal"
FORMAT_VERSION = 1
JOURNAL_DIR = "journal"
_NAME = re.compile(r"^(\d{12})-(\d{12})-(\d{8}T\d{12})Z\.jsonl\.gz$")
_STAMP = "%Y%m%dT%H%M%S%f"


class SegmentDamaged(Exception):
    """A segment's content does not match its header: it is never replayed."""


@dataclass(frozen=True)
class SegmentName:
    """What a segment's file name says: its sequence range and its newest commit time."""

    first_seq: int
    last_seq: int
    last_time: datetime
    name: str


@dataclass(frozen=True)
class Entry:
    """One journaled change as replay reads it back."""

    seq: int
    time: datetime
    job_ids: tuple[int, ...]
    action: str
    versions: dict[int, int]
    objects: dict[str, list[Any]]


def entry_line(
    seq: int,
    time: datetime,
    job_ids: tuple[int, ...],
    action: str,
    versions: dict[int, int],
    objects: bytes,
) -> bytes:
    """One line of the journal; the objects JSON goes in as it is, never re-encoded."""
    return (
        orjson.dumps(
            {
                "seq": seq,
                "time": time.astimezone(UTC).isoformat(),
                "jobs": list(job_ids),
                "action": action,
                "versions": {str(k): v for k, v in versions.items()},
                "objects": orjson.Fragment(objects),
            }
        )
        + b"\n"
    )


_OBJECTS_TAIL = b"null}\n"


def entry_parts(
    seq: int,
    time: datetime,
    job_ids: tuple[int, ...],
    action: str,
    versions: dict[int, int],
) -> tuple[bytes, bytes]:
    """The line of `entry_line` around its objects, so a big change is copied in from its
    file: prefix + objects + suffix is byte for byte `entry_line(..., objects)`."""
    line = entry_line(seq, time, job_ids, action, versions, b"null")
    return line[: -len(_OBJECTS_TAIL)], b"}\n"


def parse_entry(line: bytes) -> Entry:
    item = orjson.loads(line)
    return Entry(
        seq=int(item["seq"]),
        time=datetime.fromisoformat(item["time"]),
        job_ids=tuple(int(j) for j in item["jobs"]),
        action=str(item["action"]),
        versions={int(k): int(v) for k, v in (item.get("versions") or {}).items()},
        objects=item["objects"],
    )


def entry_seq_time(line: bytes) -> tuple[int, datetime]:
    item = orjson.loads(line)
    return int(item["seq"]), datetime.fromisoformat(item["time"])


def segment_name(first_seq: int, last_seq: int, last_time: datetime) -> str:
    return f"{first_seq:012d}-{last_seq:012d}-{last_time.astimezone(UTC):{_STAMP}}Z.jsonl.gz"


def parse_name(name: str) -> SegmentName | None:
    """The segment a file name stands for, or None for anything else in the folder."""
    match = _NAME.match(name)
    if match is None:
        return None
    stamp = datetime.strptime(match.group(3), _STAMP).replace(tzinfo=UTC)
    return SegmentName(int(match.group(1)), int(match.group(2)), stamp, name)


def encode_segment(lines: bytes, instance: str) -> tuple[bytes, SegmentName]:
    """Entry lines -> gzip bytes whose header line carries the range, count and sha256."""
    entries = lines.splitlines(keepends=True)
    first_seq, _ = entry_seq_time(entries[0])
    last_seq, last_time = entry_seq_time(entries[-1])
    header = {
        "format": FORMAT,
        "format_version": FORMAT_VERSION,
        "instance": instance,
        "first_seq": first_seq,
        "last_seq": last_seq,
        "last_time": last_time.astimezone(UTC).isoformat(),
        "count": len(entries),
        "sha256": hashlib.sha256(lines).hexdigest(),
    }
    body = orjson.dumps(header) + b"\n" + lines
    name = segment_name(first_seq, last_seq, last_time)
    return gzip.compress(body, compresslevel=6, mtime=0), SegmentName(
        first_seq, last_seq, last_time, name
    )


def decode_segment(data: bytes, name: str = "segment") -> list[Entry]:
    """The entries of a segment, or SegmentDamaged when any byte of it is off."""
    try:
        body = gzip.decompress(data)
    except (EOFError, OSError, zlib.error) as exc:
        raise SegmentDamaged(f"journal segment {name} is not a complete gzip file ({exc})") from exc
    head, sep, lines = body.partition(b"\n")
    try:
        header = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise SegmentDamaged(f"journal segment {name} has no readable header") from exc
    if not sep or header.get("format") != FORMAT:
        raise SegmentDamaged(f"journal segment {name} is not a {FORMAT} segment")
    if hashlib.sha256(lines).hexdigest() != header.get("sha256"):
        raise SegmentDamaged(f"journal segment {name} does not match its checksum")
    entries = [parse_entry(line) for line in lines.splitlines()]
    seqs = [e.seq for e in entries]
    expected = list(range(int(header["first_seq"]), int(header["last_seq"]) + 1))
    if len(entries) != header.get("count") or seqs != expected:
        raise SegmentDamaged(f"journal segment {name} holds other entries than its header says")
    return entries
