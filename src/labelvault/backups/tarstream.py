"""A tar archive produced as a stream of chunks, hashing every member on the way."""

from __future__ import annotations

import hashlib
import tarfile
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import BinaryIO

BLOCK = tarfile.BLOCKSIZE
CHUNK = 1024 * 1024


@dataclass
class Member:
    """A file to put in the archive: its name there, its size and how to open it."""

    name: str
    size: int
    open: Callable[[], BinaryIO]


@dataclass
class Written:
    name: str
    size: int
    sha256: str


class ArchiveSourceError(Exception):
    """A file changed (grew or shrank) while it was being archived."""


def _header(name: str, size: int, mtime: float) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    info.mtime = int(mtime)
    info.mode = 0o644
    # PAX carries names of any length and UTF-8, and every tar reader understands it.
    return info.tobuf(format=tarfile.PAX_FORMAT)


def stream_tar(
    members: Iterable[Member],
    written: list[Written],
    trailer: Callable[[list[Written]], tuple[str, bytes]] | None = None,
) -> Iterator[bytes]:
    """Yield a tar archive of `members` without holding more than a chunk in memory.

    tarfile.addfile reads a whole member in one call, which a generator cannot interleave
    with uploading; writing headers and padding ourselves can. `written` receives each
    member's size and sha256 as it completes, and `trailer`, if given, builds one last
    member (the manifest) from them.
    """
    now = time.time()
    for member in members:
        yield _header(member.name, member.size, now)
        digest = hashlib.sha256()
        remaining = member.size
        with member.open() as f:
            while remaining > 0:
                chunk = f.read(min(CHUNK, remaining))
                if not chunk:
                    raise ArchiveSourceError(
                        f"{member.name} shrank while it was being archived "
                        f"({member.size - remaining} of {member.size} bytes)"
                    )
                digest.update(chunk)
                remaining -= len(chunk)
                yield chunk
        written.append(Written(member.name, member.size, digest.hexdigest()))
        pad = -member.size % BLOCK
        if pad:
            yield b"\0" * pad
    if trailer is not None:
        name, data = trailer(written)
        yield _header(name, len(data), now)
        yield data
        pad = -len(data) % BLOCK
        if pad:
            yield b"\0" * pad
    # Two zero blocks end a tar archive.
    yield b"\0" * (2 * BLOCK)
