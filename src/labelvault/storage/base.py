"""The one storage interface (`Storage`) over local, WebDAV, S3, Azure and GCS filesystems."""

from __future__ import annotations

import errno
import fnmatch
import hashlib
import logging
import mimetypes
import posixpath
import socket
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, BinaryIO, Literal

from prometheus_client import Counter

from . import leftovers
from .backends import CHUNK_SIZE, Backend, make_backend
from .errors import (
    StorageAuthError,
    StorageConfigError,
    StorageError,
    StorageIntegrityError,
    StorageNotFoundError,
    StoragePathError,
    StorageUnreachableError,
)
from .url import StorageLocation, parse_storage_url

log = logging.getLogger("labelvault.storage")

# Uploads in progress live under this prefix next to their final name; list() never shows them
# and cleanup_temporaries() removes those left behind by a crash.
TEMP_PREFIX = ".tmp-"
CHECK_NAME = ".labelvault-check"

Source = bytes | bytearray | memoryview | BinaryIO | Iterable[bytes]

# Counted here, at the one place every backend error passes; /metrics exposes it.
STORAGE_ERRORS = Counter(
    "labelvault_storage_errors",
    "Storage operations that failed, by storage kind, action and error class.",
    ["kind", "action", "error"],
)


@dataclass(frozen=True, slots=True)
class Entry:
    """One file or folder, with its path relative to the storage it was listed from."""

    name: str  # relative to the listed prefix ("a.jpg", or "sub/a.jpg" when recursive)
    path: str  # relative to the storage root
    type: Literal["file", "dir"]
    size: int
    mtime: datetime | None
    mime: str | None

    @property
    def is_dir(self) -> bool:
        return self.type == "dir"


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What write_atomic stored, as verified by reading it back."""

    path: str
    size: int
    sha256: str


class Storage:
    """Files below one root of one backend; every path is relative to that root."""

    def __init__(self, backend: Backend, prefix: str = "") -> None:
        self._backend = backend
        self._prefix = prefix  # below the location root, already validated

    @classmethod
    def from_url(cls, url: str | Any, **options: Any) -> Storage:
        """Pick the backend from the URL: a path, file://, webdav+http(s)://, s3://, az://, gs://.

        Credentials may be in the URL, in `options` (username/password, key/secret,
        account_key, token, ...) or in the usual environment variables.
        """
        return cls(make_backend(parse_storage_url(url, **options)))

    # -- identity ------------------------------------------------------------------------------

    @property
    def kind(self) -> str:
        return self._backend.kind

    @property
    def location(self) -> StorageLocation:
        return self._backend.location

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def redacted_url(self) -> str:
        """The URL for display and logs: passwords and keys replaced by ***."""
        base = self.location.redacted_url
        if not self._prefix:
            return base
        head, sep, query = base.partition("?")
        return f"{head.rstrip('/')}/{self._prefix}" + (sep + query if sep else "")

    def __repr__(self) -> str:
        return f"Storage({self.redacted_url!r})"

    def __str__(self) -> str:
        return self.redacted_url

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Storage)
            and other._backend is self._backend
            and other._prefix == self._prefix
        )

    def __hash__(self) -> int:
        return hash((id(self._backend), self._prefix))

    def sub(self, prefix: str) -> Storage:
        """A storage rooted at `prefix` below this one, sharing its connection."""
        rel = self._rel(prefix)
        return Storage(self._backend, posixpath.join(self._prefix, rel) if rel else self._prefix)

    # -- paths ---------------------------------------------------------------------------------

    def _rel(self, path: str, *, allow_root: bool = True) -> str:
        """Validate a user-given relative path and return it normalised ('' is the root)."""
        if not isinstance(path, str):
            raise StoragePathError(f"a storage path must be a string, not {type(path).__name__}")
        if "\x00" in path:
            raise StoragePathError("a storage path may not contain a NUL character")
        if "\\" in path:
            raise StoragePathError(f"use '/' in storage paths, not '\\': {path!r}")
        if path.startswith("/") or (len(path) > 1 and path[1] == ":"):
            raise StoragePathError(
                f"absolute paths are not allowed, give a path relative to the storage: {path!r}"
            )
        parts = [p for p in path.split("/") if p not in ("", ".")]
        if ".." in parts:
            raise StoragePathError(f"'..' is not allowed in a storage path: {path!r}")
        if not parts and not allow_root:
            raise StoragePathError("a file path is required, not the storage root")
        return "/".join(parts)

    def _full(self, rel: str) -> str:
        """The path as the fsspec filesystem knows it."""
        return self._backend.join(self._backend.root_path(), self._prefix, rel)

    def _base(self) -> str:
        return self._full("")

    def _to_rel(self, fs_name: str) -> str:
        """Filesystem name -> path relative to this storage's root."""
        base = self._base().rstrip("/")
        name = fs_name.rstrip("/")
        if self.kind != "local":
            name, base = name.lstrip("/"), base.lstrip("/")
        if name == base:
            return ""
        if base and name.startswith(base + "/"):
            return name[len(base) + 1 :]
        if not base:
            return name
        raise StorageError(f"the backend returned a path outside the storage: {fs_name!r}")

    # -- errors --------------------------------------------------------------------------------

    def _error(self, exc: BaseException, action: str, path: str = "") -> StorageError:
        """Turn any backend exception into a StorageError whose message says what to fix."""
        if isinstance(exc, StorageError):
            return exc
        where = f"{path!r} in {self.redacted_url}" if path else self.redacted_url
        cls, hint = _classify(exc, self.kind)
        STORAGE_ERRORS.labels(self.kind, action.split()[0], cls.__name__).inc()
        detail = self.location.scrub(_describe(exc))
        message = self.location.scrub(f"cannot {action} {where}: {hint}")
        if detail and detail not in message:
            message += f" ({detail})"
        error = cls(message)
        # Keep the original as the cause only when it cannot carry a secret into a traceback.
        cause_text = "".join(str(e) for e in _chain(exc))
        error.__cause__ = exc if self.location.scrub(cause_text) == cause_text else None
        error.__suppress_context__ = True
        return error

    # -- reading -------------------------------------------------------------------------------

    def _entry(self, info: dict[str, Any], listed_base: str) -> Entry:
        rel = self._to_rel(info["name"])
        kind: Literal["file", "dir"] = "dir" if info.get("type") == "directory" else "file"
        name = rel[len(listed_base) + 1 :] if listed_base else rel
        return Entry(
            name=name,
            path=rel,
            type=kind,
            size=int(info.get("size") or 0) if kind == "file" else 0,
            mtime=_mtime(info),
            mime=mimetypes.guess_type(rel)[0] if kind == "file" else None,
        )

    def list(self, prefix: str = "", recursive: bool = False) -> list[Entry]:
        """Files and folders in `prefix`, sorted by name; temporaries are never shown.

        Listing a missing folder raises StorageNotFoundError, except the storage's own root,
        which is empty until something is written (object stores have no empty folders).
        """
        rel = self._rel(prefix)
        full = self._full(rel)
        try:
            if recursive:
                found = self._backend.fs.find(full, withdirs=True, detail=True)
                infos = list(found.values())
            else:
                infos = self._backend.fs.ls(full, detail=True)
        except FileNotFoundError as exc:
            if not rel:
                return []
            raise self._error(exc, "list", prefix) from None
        except Exception as exc:
            if not rel and _is_not_found(exc):
                return []
            raise self._error(exc, "list", prefix) from None
        entries = []
        for info in infos:
            entry_rel = self._to_rel(info["name"])
            if entry_rel == rel:
                if info.get("type") != "directory" and not recursive:
                    raise StorageError(f"cannot list {prefix!r}: it is a file, not a folder")
                continue
            if _hidden(entry_rel, rel):
                continue
            entries.append(self._entry(info, rel))
        entries.sort(key=lambda e: e.name)
        return entries

    def walk(self, prefix: str = "") -> Iterator[Entry]:
        """Every file below `prefix` (recursively), sorted by path."""
        for entry in self.list(prefix, recursive=True):
            if not entry.is_dir:
                yield entry

    def glob(self, pattern: str) -> list[Entry]:
        """Files whose path matches a shell pattern, e.g. 'backups/*/manifest.json'."""
        static = []
        for part in pattern.split("/"):
            if any(c in part for c in "*?["):
                break
            static.append(part)
        base = "/".join(static[:-1]) if len(static) == len(pattern.split("/")) else "/".join(static)
        try:
            candidates = self.walk(base)
            return [e for e in candidates if fnmatch.fnmatchcase(e.path, pattern)]
        except StorageNotFoundError:
            return []

    def info(self, path: str) -> Entry:
        rel = self._rel(path)
        try:
            raw = self._backend.fs.info(self._full(rel))
        except Exception as exc:
            raise self._error(exc, "read information about", path) from None
        entry = self._entry(raw, "")
        return entry

    def exists(self, path: str) -> bool:
        try:
            self.info(path)
        except StorageNotFoundError:
            return False
        return True

    def open_read(self, path: str) -> BinaryIO:
        """A binary file object streaming the file; the caller closes it."""
        rel = self._rel(path, allow_root=False)
        try:
            return self._backend.open_read(self._full(rel))
        except Exception as exc:
            raise self._error(exc, "open", path) from None

    def iter_bytes(self, path: str, chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
        """The file's content in chunks of at most `chunk_size` bytes."""
        with self.open_read(path) as f:
            while True:
                try:
                    chunk = f.read(chunk_size)
                except Exception as exc:
                    raise self._error(exc, "read", path) from None
                if not chunk:
                    return
                yield chunk

    def read_bytes(self, path: str) -> bytes:
        return b"".join(self.iter_bytes(path))

    def digest(self, path: str) -> tuple[int, str]:
        """Size and sha256 of the stored file, computed by reading it back."""
        return _digest(self.iter_bytes(path))

    # -- writing -------------------------------------------------------------------------------

    def makedirs(self, path: str = "") -> None:
        rel = self._rel(path)
        try:
            self._backend.makedirs(self._full(rel))
        except Exception as exc:
            raise self._error(exc, "create the folder", path) from None

    def delete(self, path: str, recursive: bool = False) -> None:
        """Remove a file, or a folder with everything in it when `recursive`."""
        rel = self._rel(path, allow_root=False)
        full = self._full(rel)
        try:
            entry = self.info(rel)
            if entry.is_dir:
                if not recursive:
                    raise StorageError(
                        f"cannot delete {path!r} in {self.redacted_url}: it is a folder "
                        "(pass recursive=True to delete it with its content)"
                    )
                self._backend.fs.rm(full, recursive=True)
            else:
                self._backend.remove_file(full)
        except Exception as exc:
            raise self._error(exc, "delete", path) from None

    def write_bytes(self, path: str, data: bytes) -> WriteResult:
        return self.write_atomic(path, data, size=len(data))

    def write_atomic(self, path: str, source: Source, *, size: int | None = None) -> WriteResult:
        """Store `source` at `path` all-or-nothing, verified by reading it back.

        The data goes to `.tmp-<uuid>-<name>` in the same folder, is read back and compared
        (size and sha256) with what was sent, then renamed (copied on object stores) onto the
        final name. On any failure the temporary is removed and StorageError is raised; the
        previous file at `path`, if any, is untouched. `size`, when known, lets WebDAV stream
        without spooling and is checked too.
        """
        rel = self._rel(path, allow_root=False)
        parent, name = posixpath.split(rel)
        if name.startswith(TEMP_PREFIX):
            raise StoragePathError(f"names starting with {TEMP_PREFIX!r} are reserved: {path!r}")
        temp_rel = posixpath.join(parent, f"{TEMP_PREFIX}{uuid.uuid4().hex}-{name[:80]}")
        temp, final = self._full(temp_rel), self._full(rel)
        # What an earlier failed write could not remove goes now that the storage answers.
        for stale in leftovers.take(self.location.redacted_url):
            self._discard(stale)
        hasher = _HashingChunks(_chunks(source))
        try:
            self._backend.makedirs(self._full(parent))
            self._backend.write_stream(temp, hasher, size)
            if not hasher.exhausted:
                # An HTTP server may answer a PUT it stopped reading (e.g. while shutting
                # down) with a success; whatever it stored is incomplete.
                raise StorageError(
                    f"the upload of {path!r} to {self.redacted_url} was cut off after "
                    f"{hasher.size} bytes: the server stopped receiving; nothing was written"
                )
            if size is not None and hasher.size != size:
                raise StorageIntegrityError(
                    f"the source gave {hasher.size} bytes for {path!r}, {size} were announced"
                )
            stored_size, stored_sha = self._verify_digest(temp_rel)
            if (stored_size, stored_sha) != (hasher.size, hasher.hexdigest()):
                raise StorageIntegrityError(
                    f"verification of {path!r} in {self.redacted_url} failed: sent "
                    f"{hasher.size} bytes (sha256 {hasher.hexdigest()}), stored "
                    f"{stored_size} bytes (sha256 {stored_sha}); nothing was written"
                )
            self._backend.commit(temp, final)
        except BaseException as exc:
            self._discard(temp)
            if not isinstance(exc, Exception):
                raise
            raise self._error(exc, "write", path) from None
        log.info("stored %s in %s (%d bytes)", rel, self.redacted_url, hasher.size)
        return WriteResult(path=rel, size=hasher.size, sha256=hasher.hexdigest())

    def _verify_digest(self, rel: str) -> tuple[int, str]:
        # A separate method so tests can simulate a store that corrupts data.
        return self.digest(rel)

    def _discard(self, full: str) -> None:
        try:
            self._backend.remove_file(full)
        except Exception as exc:  # the server may be gone: the next write retries
            if not _is_not_found(exc):
                leftovers.remember(self.location.redacted_url, full)
                log.warning(
                    "could not remove a temporary upload in %s: %s",
                    self.redacted_url,
                    self.location.scrub(_describe(exc)),
                )

    def cleanup_temporaries(
        self,
        older_than: timedelta | float = timedelta(hours=1),
        prefix: str = "",
        *,
        now: datetime | None = None,
    ) -> list[str]:
        """Remove upload temporaries left by a crash; returns their paths.

        Only temporaries older than `older_than` (seconds or a timedelta) go, so uploads still
        running in another process are left alone. The age comes from the server's mtime.
        Multipart uploads an S3 crash leaves behind are not objects; a bucket lifecycle rule
        (AbortIncompleteMultipartUpload) is what removes them.
        """
        if not isinstance(older_than, timedelta):
            older_than = timedelta(seconds=older_than)
        cutoff = (now or datetime.now(UTC)) - older_than
        rel = self._rel(prefix)
        try:
            found = self._backend.fs.find(self._full(rel), detail=True)
        except FileNotFoundError:
            return []
        except Exception as exc:
            if _is_not_found(exc):
                return []
            raise self._error(exc, "look for temporaries in", prefix) from None
        removed = []
        for info in found.values():
            entry_rel = self._to_rel(info["name"])
            if not posixpath.basename(entry_rel).startswith(TEMP_PREFIX):
                continue
            if info.get("type") == "directory":
                continue
            mtime = _mtime(info)
            if mtime is not None and mtime > cutoff:
                continue
            try:
                self._backend.remove_file(info["name"])
            except Exception as exc:
                if _is_not_found(exc):
                    continue
                raise self._error(exc, "remove the temporary", entry_rel) from None
            removed.append(entry_rel)
        if removed:
            log.info("removed %d stale temporaries in %s", len(removed), self.redacted_url)
        return sorted(removed)

    # -- startup -------------------------------------------------------------------------------

    def check(self, write: bool = True) -> None:
        """Verify at startup that the storage is reachable, the credentials work and, with
        `write`, that a file can be written, read back and deleted. Creates the root folder
        if it is missing. Raises a StorageError whose message says what to fix."""
        try:
            self._check(write)
        except StorageError as exc:
            raise type(exc)(f"storage check failed: {exc}") from exc.__cause__

    def _check(self, write: bool) -> None:
        base = self._base()
        bucket = self._backend.bucket_of(base)
        if bucket is not None:
            try:
                self._backend.probe(base)
            except Exception as exc:
                if _is_not_found(exc):
                    raise StorageNotFoundError(
                        f"the bucket or container {bucket!r} of {self.redacted_url} does not "
                        "exist: create it, or fix the storage URL"
                    ) from None
                raise self._error(exc, "access") from None
        else:
            try:
                entry = self.info("")
            except StorageNotFoundError:
                self.makedirs("")
            else:
                if not entry.is_dir:
                    raise StorageConfigError(
                        f"the storage root {self.redacted_url} is a file, not a folder"
                    )
        self.list("")
        if write:
            name = f"{CHECK_NAME}-{uuid.uuid4().hex}"
            self.write_bytes(name, b"LabelVault storage check\n")
            self.delete(name)


class _HashingChunks:
    """Passes chunks through while counting and hashing them: what was *sent*."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self._sha = hashlib.sha256()
        self.size = 0
        self.exhausted = False

    def __iter__(self) -> Iterator[bytes]:
        yield from self._hashed()
        self.exhausted = True

    def _hashed(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            if not isinstance(chunk, bytes | bytearray | memoryview):
                raise TypeError(f"write_atomic needs bytes, got {type(chunk).__name__}")
            if not chunk:
                continue
            self._sha.update(chunk)
            self.size += len(chunk)
            yield bytes(chunk)

    def hexdigest(self) -> str:
        return self._sha.hexdigest()


def _chunks(source: Source) -> Iterable[bytes]:
    if isinstance(source, bytes | bytearray | memoryview):
        return [bytes(source)]
    read = getattr(source, "read", None)
    if callable(read):

        def from_file() -> Iterator[bytes]:
            while True:
                chunk = read(CHUNK_SIZE)
                if not chunk:
                    return
                yield chunk

        return from_file()
    if isinstance(source, str):
        raise TypeError("write_atomic needs bytes, a binary file or an iterator of bytes, not str")
    return source


def _digest(chunks: Iterable[bytes]) -> tuple[int, str]:
    sha = hashlib.sha256()
    size = 0
    for chunk in chunks:
        sha.update(chunk)
        size += len(chunk)
    return size, sha.hexdigest()


def _hidden(rel: str, listed: str) -> bool:
    """Whether an entry is an upload temporary (or inside something that is)."""
    below = rel[len(listed) + 1 :] if listed else rel
    return any(part.startswith(TEMP_PREFIX) for part in below.split("/"))


def _mtime(info: dict[str, Any]) -> datetime | None:
    for key in ("mtime", "modified", "LastModified", "last_modified", "updated"):
        value = info.get(key)
        if value is None:
            continue
        if isinstance(value, int | float):
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, datetime):
            return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
        if isinstance(value, str):
            try:
                parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
            except ValueError:
                continue
            return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    return None


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _status(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if isinstance(status, int):
        return status
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        meta = response.get("ResponseMetadata", {})
        return meta.get("HTTPStatusCode")
    status = getattr(response, "status_code", None)
    return status if isinstance(status, int) else None


_UNREACHABLE_NAMES = {
    "ConnectError",
    "ConnectTimeout",
    "EndpointConnectionError",
    "ConnectionClosedError",
    "ClientConnectorError",
    "ServerDisconnectedError",
    "RemoteProtocolError",
    "ReadError",
    "WriteError",
    "ReadTimeout",
    "WriteTimeout",
    "PoolTimeout",
    "ConnectTimeoutError",
    "ReadTimeoutError",
}
_AUTH_CODES = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "AuthenticationFailed",
    "AuthorizationFailure",
    "ExpiredToken",
    "InvalidToken",
}


def _is_not_found(exc: BaseException) -> bool:
    for e in _chain(exc):
        if isinstance(e, FileNotFoundError) or type(e).__name__ in {
            "ResourceNotFound",
            "NoSuchBucket",
            "NoSuchKey",
            "ResourceNotFoundError",
        }:
            return True
        if _status(e) == 404:
            return True
    return False


def _classify(exc: BaseException, kind: str) -> tuple[type[StorageError], str]:
    """Pick the error class and a hint that tells the operator what to fix."""
    secret_word = "password" if kind == "webdav" else "keys"
    # Libraries wrap the informative error (an S3 error code, an HTTP status) in a generic
    # one, so look at the whole chain before deciding.
    codes: set[str] = set()
    statuses: set[int] = set()
    for e in _chain(exc):
        response = getattr(e, "response", None)
        if isinstance(response, dict):
            codes.add(str(response.get("Error", {}).get("Code", "")))
        # Azure's HttpResponseError carries its code apart (e.g. AuthenticationFailed).
        code = getattr(e, "error_code", None)
        if isinstance(code, str):
            codes.add(str(getattr(code, "value", code)))  # a str enum in azure-storage-blob
        status = _status(e)
        if status is not None:
            statuses.add(status)
    denied = any(isinstance(e, PermissionError) for e in _chain(exc))
    # Azure signs requests locally: a key that is not even base64 fails before any request.
    if any(type(e).__name__ == "AzureSigningError" for e in _chain(exc)):
        return StorageAuthError, (
            f"the account key is not a valid key: check the account name and {secret_word}"
        )
    if codes & _AUTH_CODES or statuses & {401, 403} or denied:
        # Azure answers a bad key with AuthenticationFailed (Azurite: AuthorizationFailure).
        refused = {
            "InvalidAccessKeyId",
            "SignatureDoesNotMatch",
            "AuthenticationFailed",
            "AuthorizationFailure",
        }
        if 401 in statuses or codes & refused:
            return StorageAuthError, (
                f"the server refused the credentials: check the user name and {secret_word}"
            )
        return StorageAuthError, (
            "access denied: check the credentials and that this account may read and write there"
        )
    for e in _chain(exc):
        names = {c.__name__ for c in type(e).__mro__}
        status = _status(e)
        if names & _UNREACHABLE_NAMES or isinstance(e, ConnectionError | socket.gaierror):
            return StorageUnreachableError, (
                "the server cannot be reached: check the host and port in the storage URL and "
                "that the server is running"
            )
        if isinstance(e, TimeoutError):
            return StorageUnreachableError, "the server did not answer in time"
        if "NoSuchBucket" in codes:
            return StorageNotFoundError, "the bucket does not exist: create it or fix the URL"
        if _is_not_found(e):
            return StorageNotFoundError, "no such file or folder"
        if isinstance(e, IsADirectoryError):
            return StorageError, "a folder has that name"
        if isinstance(e, NotADirectoryError):
            return StorageError, "a file is in the way where a folder is needed"
        if isinstance(e, OSError) and e.errno == errno.ENOSPC:
            return StorageError, "the storage is full"
        if status == 507 or "InsufficientStorage" in names:
            return StorageError, "the server is out of space (quota exceeded?)"
        if isinstance(e, StorageIntegrityError):
            return StorageIntegrityError, str(e)
    return StorageError, "the storage reported an error"
