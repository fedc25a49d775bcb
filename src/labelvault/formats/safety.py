"""Safe extraction of uploaded dataset archives (no path traversal, links or zip bombs)."""

from __future__ import annotations

import shutil
import stat
import zipfile
from pathlib import Path, PurePosixPath, PureWindowsPath

from .base import FormatError

# Generous limits that still stop an archive from filling the disk by surprise.
MAX_MEMBERS = 2_000_000
MAX_TOTAL_BYTES = 200 * 1024**3
MAX_RATIO = 1000  # uncompressed/compressed, per member of meaningful size


def check_member_name(name: str, archive: str = "archive") -> PurePosixPath:
    """Reject absolute paths, drive letters and ``..`` components; return the clean path."""
    if not name or "\x00" in name:
        raise FormatError(f"{archive}: member with an empty or NUL-containing name")
    win = PureWindowsPath(name)
    posix = PurePosixPath(name.replace("\\", "/"))
    if posix.is_absolute() or win.drive or win.root:
        raise FormatError(f"{archive}: member {name!r} has an absolute path; refusing to extract")
    if any(part == ".." for part in posix.parts):
        raise FormatError(f"{archive}: member {name!r} points outside the archive ('..')")
    return posix


def safe_extract_zip(archive: Path, dest: Path) -> Path:
    """Extract ``archive`` into ``dest`` after validating every member; returns ``dest``."""
    try:
        zf = zipfile.ZipFile(archive)
    except zipfile.BadZipFile as e:
        raise FormatError(f"{archive.name}: not a valid zip archive ({e})") from e
    with zf:
        members = zf.infolist()
        if len(members) > MAX_MEMBERS:
            raise FormatError(f"{archive.name}: too many members ({len(members)})")
        total = 0
        for m in members:
            check_member_name(m.filename, archive.name)
            if stat.S_ISLNK(m.external_attr >> 16):
                raise FormatError(f"{archive.name}: member {m.filename!r} is a symbolic link")
            total += m.file_size
            if m.compress_size > 1 << 20 and m.file_size > MAX_RATIO * m.compress_size:
                raise FormatError(f"{archive.name}: member {m.filename!r} is a zip bomb")
        if total > MAX_TOTAL_BYTES:
            raise FormatError(f"{archive.name}: uncompressed size {total} bytes is too large")
        dest.mkdir(parents=True, exist_ok=True)
        root = dest.resolve()
        for m in members:
            target = (root / check_member_name(m.filename, archive.name)).resolve()
            if not target.is_relative_to(root):
                raise FormatError(f"{archive.name}: member {m.filename!r} escapes the target")
            if m.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(m) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
    return dest
