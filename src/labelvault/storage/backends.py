"""Per-backend parts of the storage interface: building the filesystem, upload and commit."""

from __future__ import annotations

import contextlib
import io
import os
import tempfile
import threading
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING, Any, BinaryIO

from .errors import StorageConfigError

if TYPE_CHECKING:
    from fsspec import AbstractFileSystem

    from .url import StorageLocation

CHUNK_SIZE = 1024 * 1024
# s3fs needs parts of at least 5 MiB; 8 MiB keeps memory per upload small.
S3_PART_SIZE = 8 * 1024 * 1024
# Small uploads of unknown size stay in memory, bigger ones spill to a local temp file.
SPOOL_MEMORY = 16 * 1024 * 1024


class IterReader(io.RawIOBase):
    """A read-only file over an iterator of byte chunks, for clients that want a file object."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        view = memoryview(buffer).cast("B")
        while not self._pending:
            chunk = next(self._chunks, None)
            if chunk is None:
                return 0
            self._pending = bytes(chunk)
        n = min(len(view), len(self._pending))
        view[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n


class Backend:
    """Builds one fsspec filesystem lazily and performs the steps that differ between backends."""

    kind = "fsspec"

    def __init__(self, location: StorageLocation) -> None:
        self.location = location
        self._fs: AbstractFileSystem | None = None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.location.redacted_url!r})"

    @property
    def fs(self) -> AbstractFileSystem:
        # Lazy so that a Storage for Azure/GCS can exist (and be shown) without its package.
        if self._fs is None:
            with self._lock:
                if self._fs is None:
                    self._fs = self._make_fs()
        return self._fs

    def _make_fs(self) -> AbstractFileSystem:
        raise NotImplementedError

    def join(self, *parts: str) -> str:
        return "/".join(p.strip("/") for p in parts if p.strip("/"))

    def root_path(self) -> str:
        return self.location.root

    def makedirs(self, path: str) -> None:
        self.fs.makedirs(path, exist_ok=True)

    write_block_size: int | None = None

    def write_stream(self, path: str, chunks: Iterable[bytes], size: int | None) -> None:
        """Store `chunks` at `path`; on error nothing must stay visible except possibly `path`."""
        options = {"block_size": self.write_block_size} if self.write_block_size else {}
        f = self.fs.open(path, "wb", **options)
        try:
            for chunk in chunks:
                f.write(chunk)
        except BaseException:
            # Closing would commit what was buffered so far; discard aborts a multipart upload.
            with contextlib.suppress(Exception):
                f.discard()
            f.closed = True
            raise
        f.close()

    def open_read(self, path: str) -> BinaryIO:
        return self.fs.open(path, "rb")

    def commit(self, temp: str, final: str) -> None:
        self.fs.mv(temp, final)

    def remove_file(self, path: str) -> None:
        self.fs.rm_file(path)

    def bucket_of(self, path: str) -> str | None:
        """The bucket/container a path lives in, for backends that have one."""
        return None

    def probe(self, path: str) -> None:
        """Cheapest request proving the bucket of `path` exists and the credentials work."""
        bucket = self.bucket_of(path)
        self.fs.info(bucket or path)


class LocalBackend(Backend):
    """A folder on this machine: plain files, fsync and rename(2), which is atomic."""

    kind = "local"

    def _make_fs(self) -> AbstractFileSystem:
        from fsspec.implementations.local import LocalFileSystem

        return LocalFileSystem()

    def join(self, *parts: str) -> str:
        root, *rest = parts
        tail = "/".join(p.strip("/") for p in rest if p.strip("/"))
        return f"{root.rstrip('/')}/{tail}" if tail else (root or "/")

    def makedirs(self, path: str) -> None:
        os.makedirs(path, exist_ok=True)

    def write_stream(self, path: str, chunks: Iterable[bytes], size: int | None) -> None:
        with open(path, "wb") as f:
            for chunk in chunks:
                f.write(chunk)
            f.flush()
            # The data must be on disk before the rename makes it the real file.
            os.fsync(f.fileno())

    def open_read(self, path: str) -> BinaryIO:
        return open(path, "rb")  # noqa: SIM115 - the caller owns the file

    def commit(self, temp: str, final: str) -> None:
        if os.path.isdir(final):
            raise IsADirectoryError(f"a folder already has this name: {os.path.basename(final)}")
        os.replace(temp, final)
        # fsync the folder so the rename itself survives a power cut.
        with contextlib.suppress(OSError):
            fd = os.open(os.path.dirname(final) or ".", os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)

    def remove_file(self, path: str) -> None:
        os.remove(path)


class WebdavBackend(Backend):
    """WebDAV (Nextcloud, ownCloud, wsgidav, ...) through webdav4: PUT a temp, then MOVE."""

    kind = "webdav"

    def _make_fs(self) -> AbstractFileSystem:
        try:
            from webdav4.fsspec import WebdavFileSystem
        except ImportError as exc:
            raise StorageConfigError(
                "WebDAV storage needs the 'webdav4' package: pip install webdav4"
            ) from exc
        options = dict(self.location.options)
        base_url = options.pop("base_url")
        auth = options.pop("auth", None)
        return WebdavFileSystem(base_url, auth=auth, skip_instance_cache=True, **options)

    def write_stream(self, path: str, chunks: Iterable[bytes], size: int | None) -> None:
        client = self.fs.client  # type: ignore[attr-defined]
        if size is not None:
            client.upload_fileobj(IterReader(chunks), path, overwrite=True, size=size)
            return
        # Unknown size: spool locally so the PUT carries a Content-Length. Some servers (PHP
        # behind FastCGI, as many Nextclouds are) store an empty file for a chunked PUT.
        with tempfile.SpooledTemporaryFile(max_size=SPOOL_MEMORY) as spool:
            for chunk in chunks:
                spool.write(chunk)
            length = spool.tell()
            spool.seek(0)
            client.upload_fileobj(spool, path, overwrite=True, size=length)

    def commit(self, temp: str, final: str) -> None:
        self.fs.client.move(temp, final, overwrite=True)  # type: ignore[attr-defined]

    def remove_file(self, path: str) -> None:
        self.fs.client.remove(path)  # type: ignore[attr-defined]

    def makedirs(self, path: str) -> None:
        if path:
            self.fs.makedirs(path, exist_ok=True)


class S3Backend(Backend):
    """S3 and S3-compatible stores through s3fs.

    S3 has no rename. The verified temp object is copied server-side onto the final key and
    then deleted: a copy is atomic (readers see the old object or the whole new one), and the
    temp name keeps an unverified upload out of listings. A direct PUT to the final key would
    also be atomic, but could not be verified before it becomes visible.
    """

    kind = "s3"

    def _make_fs(self) -> AbstractFileSystem:
        try:
            import s3fs
        except ImportError as exc:
            raise StorageConfigError(
                "S3 storage needs the 's3fs' package: pip install s3fs"
            ) from exc
        options = dict(self.location.options)
        retries = options.pop("retries", None)
        fs = s3fs.S3FileSystem(**options)
        if retries is not None:
            # s3fs's own retry loop (on top of botocore's) is a class attribute, not an option.
            fs.retries = int(retries)
        return fs

    def makedirs(self, path: str) -> None:
        # Folders do not exist on S3; a key's prefix is enough.
        return None

    write_block_size = S3_PART_SIZE

    def open_read(self, path: str) -> BinaryIO:
        # Sequential readers (hashing, downloads, archives) want big blocks, not readahead guesses.
        return self.fs.open(path, "rb", block_size=S3_PART_SIZE, cache_type="none")

    def commit(self, temp: str, final: str) -> None:
        self.fs.copy(temp, final)
        self.fs.rm_file(temp)

    def bucket_of(self, path: str) -> str | None:
        return path.split("/", 1)[0]

    def probe(self, path: str) -> None:
        # A GET (not HEAD) so that an error carries S3's code, e.g. SignatureDoesNotMatch.
        bucket, _, prefix = path.partition("/")
        self.fs.call_s3("list_objects_v2", Bucket=bucket, Prefix=prefix, MaxKeys=1)


class AzureBackend(Backend):
    """Azure Blob Storage through adlfs (constructed on first use)."""

    kind = "azure"

    def _make_fs(self) -> AbstractFileSystem:
        try:
            from adlfs import AzureBlobFileSystem
        except ImportError as exc:
            raise StorageConfigError(
                "Azure Blob storage needs the 'adlfs' package: pip install adlfs"
            ) from exc
        return AzureBlobFileSystem(**self.location.options)

    def makedirs(self, path: str) -> None:
        return None

    def commit(self, temp: str, final: str) -> None:
        self.fs.copy(temp, final)
        self.fs.rm_file(temp)

    def bucket_of(self, path: str) -> str | None:
        return path.split("/", 1)[0]


class GcsBackend(Backend):
    """Google Cloud Storage through gcsfs (constructed on first use)."""

    kind = "gcs"

    def _make_fs(self) -> AbstractFileSystem:
        try:
            # The JSON-API filesystem itself, not `gcsfs.GCSFileSystem`: that name is by
            # default an "extended" class which first asks the gRPC storage-control API for
            # the bucket's layout, over TLS to the endpoint, retrying for a minute; an
            # emulator or private endpoint speaks plain HTTP, so every first call hung.
            from gcsfs.core import GCSFileSystem
        except ImportError as exc:
            raise StorageConfigError(
                "Google Cloud Storage needs the 'gcsfs' package: pip install gcsfs"
            ) from exc
        return GCSFileSystem(**self.location.options)

    def makedirs(self, path: str) -> None:
        return None

    def commit(self, temp: str, final: str) -> None:
        self.fs.copy(temp, final)
        self.fs.rm_file(temp)

    def bucket_of(self, path: str) -> str | None:
        return path.split("/", 1)[0]


BACKENDS: dict[str, type[Backend]] = {
    "local": LocalBackend,
    "webdav": WebdavBackend,
    "s3": S3Backend,
    "azure": AzureBackend,
    "gcs": GcsBackend,
}


def make_backend(location: StorageLocation) -> Backend:
    return BACKENDS[location.kind](location)
