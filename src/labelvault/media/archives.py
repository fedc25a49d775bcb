"""Safe extraction of uploaded zip and tar(.gz/.bz2/.xz) archives."""

from __future__ import annotations

import bz2
import errno
import gzip
import lzma
import os
import shutil
import stat
import tarfile
import tempfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from labelvault.media.images import MediaError

ARCHIVE_EXTENSIONS = (
    ".zip",
    ".tar",
    ".tar.gz",
    ".tgz",
    ".tar.bz2",
    ".tbz2",
    ".tbz",
    ".tar.xz",
    ".txz",
)

_COPY_BUFFER = 1 << 20


@dataclass(frozen=True, slots=True)
class ArchiveLimits:
    """What an archive may contain; every limit is checked against bytes actually written."""

    max_members: int = 200_000
    max_total_size: int = 32 * 1024**3  # uncompressed bytes of all files
    # Uncompressed/compressed ratio, checked once more than ratio_floor bytes came out:
    # photos compress ~1:1 and even BMP/TIFF rarely beat 50:1, bombs are 1000:1 and more.
    max_ratio: float = 200.0
    ratio_floor: int = 64 * 1024**2


def is_archive_name(name: str) -> bool:
    """True if the file name has an archive extension we can extract."""
    return name.lower().endswith(ARCHIVE_EXTENSIONS)


def archive_kind(path: str | os.PathLike[str]) -> str | None:
    """'zip', 'tar', 'gz', 'bz2' or 'xz' from the file's magic bytes, None if none of these."""
    with open(path, "rb") as fp:
        head = fp.read(512)
    if head[:4] in (b"PK\x03\x04", b"PK\x05\x06"):
        return "zip"
    if head[:2] == b"\x1f\x8b":
        return "gz"
    if head[:3] == b"BZh":
        return "bz2"
    if head[:6] == b"\xfd7zXZ\x00":
        return "xz"
    if head[257:262] == b"ustar":
        return "tar"
    return None


def _safe_relpath(archive: str, member: str) -> str | None:
    """The member's path relative to the destination, refusing anything that escapes it."""
    if "\x00" in member:
        raise MediaError(archive, f"member {member!r} has a NUL character in its name")
    # Windows tools write backslashes; treat them as separators so "..\\x" is caught too.
    name = member.replace("\\", "/")
    if name.startswith("/") or (len(name) > 1 and name[1] == ":" and name[0].isalpha()):
        raise MediaError(
            archive,
            f"member {member!r} has an absolute path; re-create the archive with relative paths",
        )
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise MediaError(
            archive,
            f"member {member!r} points outside the archive ('..'); re-create the archive "
            "without parent-directory paths",
        )
    return "/".join(parts) if parts else None


class _DiskError(Exception):
    """Writing failed for a server-side reason (disk full, permissions): not the user's."""


class _Extraction:
    """Bookkeeping shared by the zip and tar paths: names, counts, sizes, ratio."""

    def __init__(self, archive: str, root: Path, limits: ArchiveLimits, archive_size: int):
        self.archive = archive
        self.root = root
        self.limits = limits
        self.archive_size = max(archive_size, 1)
        self.members = 0
        self.written = 0
        self.files: list[str] = []
        self._files: set[str] = set()
        self._dirs: set[str] = set()

    def count_member(self, member: str) -> None:
        self.members += 1
        if self.members > self.limits.max_members:
            raise MediaError(
                self.archive,
                f"has more than {self.limits.max_members} members (at {member!r}); "
                "split it into several archives",
            )

    def _claim(self, rel: str, member: str, is_dir: bool) -> None:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            parent = "/".join(parts[:i])
            if parent in self._files:
                raise MediaError(
                    self.archive, f"member {member!r} is inside {parent!r}, which is a file"
                )
            self._dirs.add(parent)
        if rel in self._files or (not is_dir and rel in self._dirs):
            raise MediaError(
                self.archive,
                f"has {member!r} more than once (or as both file and folder); rename one of them",
            )
        (self._dirs if is_dir else self._files).add(rel)

    def add_dir(self, member: str) -> None:
        rel = _safe_relpath(self.archive, member)
        if rel is None:
            return
        self._claim(rel, member, is_dir=True)
        try:
            (self.root / rel).mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise self._os_error(member, exc) from None

    def add_file(self, member: str, src: IO[bytes], declared_size: int) -> None:
        rel = _safe_relpath(self.archive, member)
        if rel is None:
            raise MediaError(self.archive, f"member {member!r} has no file name")
        self._claim(rel, member, is_dir=False)
        self.check_total(self.written + declared_size, member)
        target = self.root / rel
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            out = open(target, "xb")  # noqa: SIM115 - closed below, errors told apart
        except OSError as exc:
            raise self._os_error(member, exc) from None
        # Headers can lie about sizes, so count what really comes out.
        with out:
            while chunk := src.read(_COPY_BUFFER):
                self.written += len(chunk)
                self.check_total(self.written, member)
                try:
                    out.write(chunk)
                except OSError as exc:
                    raise _DiskError(exc) from exc
        self.files.append(rel)

    def _os_error(self, member: str, exc: OSError) -> Exception:
        if exc.errno in (errno.ENAMETOOLONG, errno.EILSEQ, errno.EINVAL):
            return MediaError(
                self.archive, f"member {member!r} cannot be a file name here ({exc.strerror})"
            )
        return _DiskError(exc)

    def check_total(self, total: int, member: str) -> None:
        lim = self.limits
        if total > lim.max_total_size:
            raise MediaError(
                self.archive,
                f"expands to more than {lim.max_total_size} bytes (at member {member!r}); "
                "split it into smaller archives",
            )
        if total > lim.ratio_floor and total / self.archive_size > lim.max_ratio:
            raise MediaError(
                self.archive,
                f"expands more than {lim.max_ratio:.0f} times its size (at member {member!r}), "
                "which looks like a decompression bomb; upload the files uncompressed",
            )


def _extract_zip(job: _Extraction, path: str) -> None:
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise MediaError(path, f"is not a valid zip archive ({exc}); upload it again") from None
    with zf:
        infos = zf.infolist()
        if len(infos) > job.limits.max_members:
            raise MediaError(
                path,
                f"has {len(infos)} members, more than {job.limits.max_members}; "
                "split it into several archives",
            )
        # Refuse on declared sizes before writing anything; real sizes are checked again.
        declared = 0
        for info in infos:
            _safe_relpath(path, info.filename)
            # Zips from Windows have no Unix mode and some tools store permissions only;
            # only an explicit non-file, non-folder type is refused.
            mode = info.external_attr >> 16
            if stat.S_IFMT(mode) and not (stat.S_ISREG(mode) or stat.S_ISDIR(mode)):
                kind = "a symbolic link" if stat.S_ISLNK(mode) else "a special file"
                raise MediaError(
                    path,
                    f"member {info.filename!r} is {kind}; only files and folders are accepted",
                )
            if info.flag_bits & 0x1:
                raise MediaError(
                    path,
                    f"member {info.filename!r} is encrypted; upload an archive without a password",
                )
            declared += info.file_size
            job.check_total(declared, info.filename)
            if (
                info.file_size > job.limits.ratio_floor
                and info.file_size / max(info.compress_size, 1) > job.limits.max_ratio
            ):
                raise MediaError(
                    path,
                    f"member {info.filename!r} expands more than {job.limits.max_ratio:.0f} "
                    "times, which looks like a decompression bomb",
                )
        for info in infos:
            job.count_member(info.filename)
            if info.is_dir():
                job.add_dir(info.filename)
                continue
            try:
                with zf.open(info) as src:
                    job.add_file(info.filename, src, info.file_size)
            except NotImplementedError as exc:
                raise MediaError(
                    path,
                    f"member {info.filename!r} uses an unsupported compression method ({exc}); "
                    "re-create the archive with standard Deflate",
                ) from None
            except (MediaError, _DiskError):
                raise
            except (zipfile.BadZipFile, EOFError, zlib.error, OSError) as exc:
                raise MediaError(
                    path, f"member {info.filename!r} is damaged ({exc}); upload it again"
                ) from None


class _LimitedReader:
    """Counts decompressed bytes so a tar.gz bomb stops early, even inside tar headers."""

    def __init__(self, src: BinaryIO, raw: BinaryIO, job: _Extraction, limit: int):
        self.src, self.raw, self.job, self.limit = src, raw, job, limit
        self.count = 0

    def read(self, n: int = -1) -> bytes:
        data = self.src.read(n)
        self.count += len(data)
        lim = self.job.limits
        if self.count > self.limit:
            raise MediaError(
                self.job.archive,
                f"expands to more than {lim.max_total_size} bytes; split it into smaller archives",
            )
        if self.count > lim.ratio_floor and self.count / max(self.raw.tell(), 1) > lim.max_ratio:
            raise MediaError(
                self.job.archive,
                f"expands more than {lim.max_ratio:.0f} times its size, which looks like a "
                "decompression bomb; upload the files uncompressed",
            )
        return data


def _extract_tar(job: _Extraction, path: str, kind: str) -> None:
    # Headers and padding are at most 1.5 KiB per member on top of the file data.
    limit = job.limits.max_total_size + 1536 * job.limits.max_members + (1 << 20)
    with open(path, "rb") as raw:
        src: BinaryIO
        if kind == "gz":
            src = gzip.GzipFile(fileobj=raw)
        elif kind == "bz2":
            src = bz2.BZ2File(raw)
        elif kind == "xz":
            src = lzma.LZMAFile(raw)  # noqa: SIM115 - a view on raw, closed with it
        else:
            src = raw
        stream = _LimitedReader(src, raw, job, limit)
        try:
            # Stream mode reads each member once, in order, and never seeks back.
            with tarfile.open(fileobj=stream, mode="r|") as tf:  # type: ignore[call-overload]
                for member in tf:
                    job.count_member(member.name)
                    if member.isdir():
                        job.add_dir(member.name)
                    elif member.isreg():
                        fileobj = tf.extractfile(member)
                        assert fileobj is not None
                        job.add_file(member.name, fileobj, member.size)
                    else:
                        kind_name = (
                            "a symbolic link"
                            if member.issym()
                            else "a hard link"
                            if member.islnk()
                            else "a device or special file"
                        )
                        raise MediaError(
                            path,
                            f"member {member.name!r} is {kind_name}; only files and folders "
                            "are accepted",
                        )
        except (MediaError, _DiskError):
            raise
        except (tarfile.TarError, EOFError, OSError, lzma.LZMAError, zlib.error) as exc:
            raise MediaError(
                path, f"is not a valid or complete tar archive ({exc}); upload it again"
            ) from None


def extract_archive(
    archive: str | os.PathLike[str],
    dest: str | os.PathLike[str],
    *,
    limits: ArchiveLimits | None = None,
) -> list[str]:
    """Extract a zip or tar(.gz/.bz2/.xz) into ``dest``; return the files' relative paths.

    Paths are POSIX-style, in archive order. Everything is first extracted into a
    temporary folder next to ``dest`` and moved in only when the whole archive passed, so a
    refused or broken archive leaves nothing behind. ``dest`` may already exist, but no
    extracted path may collide with something already in it.
    """
    archive = os.fspath(archive)
    limits = limits or ArchiveLimits()
    dest_path = Path(dest)
    try:
        kind = archive_kind(archive)
        archive_size = os.path.getsize(archive)
    except OSError as exc:
        raise MediaError(archive, f"cannot be read ({exc.strerror})") from None
    if kind is None:
        raise MediaError(archive, "is not a zip or tar(.gz/.bz2/.xz) archive; upload one of those")
    dest_path.parent.mkdir(parents=True, exist_ok=True)
    # Same filesystem as dest, so the final moves are renames.
    tmp = Path(tempfile.mkdtemp(prefix=".extract-", dir=dest_path.parent))
    moved: list[Path] = []
    try:
        job = _Extraction(archive, tmp, limits, archive_size)
        if kind == "zip":
            _extract_zip(job, archive)
        else:
            _extract_tar(job, archive, kind)
        if not dest_path.exists():
            tmp.rename(dest_path)
            return job.files
        _check_collisions(archive, dest_path, job.files)
        _merge_dir(tmp, dest_path, moved)
        return job.files
    except _DiskError as exc:
        _undo(moved)
        raise exc.args[0] from None
    except BaseException:
        _undo(moved)
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _undo(moved: list[Path]) -> None:
    # Only an OS failure mid-move leaves moved entries; take them out again.
    for target in reversed(moved):
        if target.is_dir() and not target.is_symlink():
            shutil.rmtree(target, ignore_errors=True)
        else:
            target.unlink(missing_ok=True)


def _check_collisions(archive: str, dest: Path, files: list[str]) -> None:
    for rel in files:
        parts = rel.split("/")
        for i in range(1, len(parts)):
            parent = dest.joinpath(*parts[:i])
            if parent.is_symlink() or (parent.exists() and not parent.is_dir()):
                raise MediaError(
                    archive,
                    f"member {rel!r} would go inside {'/'.join(parts[:i])!r}, which already "
                    "exists as a file or link; rename one of them",
                )
        target = dest / rel
        if target.exists() or target.is_symlink():
            raise MediaError(
                archive, f"member {rel!r} would overwrite an existing file; rename one of them"
            )


def _merge_dir(src: Path, dst: Path, moved: list[Path]) -> None:
    """Move src's entries into the existing folder dst (collisions were checked before)."""
    for entry in sorted(src.iterdir()):
        target = dst / entry.name
        if entry.is_dir() and target.is_dir() and not target.is_symlink():
            _merge_dir(entry, target, moved)
            continue
        if target.exists() or target.is_symlink():
            raise MediaError(str(src), f"{entry.name!r} appeared in the destination meanwhile")
        entry.rename(target)
        moved.append(target)
